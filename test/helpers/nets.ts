/**
 * The datagram networks a suite runs over (the abstract-suite pattern: the
 * same suite function called once per network): real UDP on loopback through
 * node:dgram, through the native batched engine, and the in-memory network. A suite opens one per run and closes it at the end.
 */
import { MemoryNetwork } from '../../lib/transport/memory';
import { nativeUdpTransport } from '../../lib/transport/native-udp';
import type { TransportFactory } from '../../lib/transport/types';
import { udpTransport } from '../../lib/transport/udp';

export interface OpenNet {
  /** Makes the transports of the gateway and the clients of one suite: they reach each other. */
  readonly transport: TransportFactory;
  /** The in-memory network, to set loss and the like (undefined over UDP). */
  readonly memory: MemoryNetwork | undefined;
  close(): void;
}

export interface NetUnderTest {
  /** Name in test titles; also the transport kind the gateway logs ('udp', 'memory'). */
  readonly name: 'udp' | 'native-udp' | 'memory';
  open(): OpenNet;
}

export const UDP_NET: NetUnderTest = {
  name: 'udp',
  open: () => ({ transport: udpTransport, memory: undefined, close: () => undefined }),
};

export const MEMORY_NET: NetUnderTest = {
  name: 'memory',
  open: () => {
    const memory = new MemoryNetwork();
    return { transport: memory.factory, memory, close: () => memory.close() };
  },
};

/** The native batched engine on loopback (the addon is built wherever the tests run, both passes). */
export const NATIVE_UDP_NET: NetUnderTest = {
  name: 'native-udp',
  open: () => ({ transport: nativeUdpTransport, memory: undefined, close: () => undefined }),
};

export const NETS: readonly NetUnderTest[] = [UDP_NET, NATIVE_UDP_NET, MEMORY_NET];

/** The networks of real UDP sockets (node:dgram and the native engine): for what only sockets have (IPv6, ICMP, broadcast, DTLS between processes). */
export const UDP_NETS: readonly NetUnderTest[] = [UDP_NET, NATIVE_UDP_NET];
