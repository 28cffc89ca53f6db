/**
 * The transport suite over each implementation in lib/transport.
 */
import { MemoryNetwork } from '../../lib/transport/memory';
import { nativeUdpTransport } from '../../lib/transport/native-udp';
import { udpTransport } from '../../lib/transport/udp';
import { transportSuite } from './suite';

transportSuite('udp (node:dgram)', { make: udpTransport, ipv6: true, multicast: true, reusePort: false });

let network = new MemoryNetwork();
transportSuite('memory network', {
  make: () => network.transport(),
  cleanup: () => {
    network.close();
    network = new MemoryNetwork();
  },
  ipv6: true,
  multicast: true,
  reusePort: false,
});

transportSuite('native-udp (batched engine)', { make: nativeUdpTransport, ipv6: true, multicast: true, reusePort: true });
