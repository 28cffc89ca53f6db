/**
 * The UDP transports (node:dgram and the native engine) connected to their
 * one peer: a closed port is reported at once (ICMP port unreachable, 716),
 * the local address is the interface's, and sending elsewhere still works.
 */
import * as assert from 'node:assert/strict';
import { ErrorCode, type MqttSnError } from '../../lib/errors';
import type { ReceivedDatagram } from '../../lib/transport/types';
import { NativeUdpTransport } from '../../lib/transport/native-udp';
import type { DatagramTransport } from '../../lib/transport/types';
import { UdpTransport } from '../../lib/transport/udp';

type Connectable = DatagramTransport & { connect(to: { address: string; port: number }): Promise<void> };

function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 10);
    };
    check();
  });
}

for (const [name, make] of [
  ['udp (node:dgram)', () => new UdpTransport()],
  ['native-udp', () => new NativeUdpTransport()],
] as Array<[string, () => Connectable]>) {
  describe(`${name}: connected to one peer`, function () {
    this.timeout(15000);
    const opened: Connectable[] = [];

    async function bound(): Promise<Connectable> {
      const transport = make();
      await transport.bind({ family: 4 });
      return transport;
    }

    async function open(): Promise<Connectable> {
      const transport = await bound();
      opened.push(transport);
      return transport;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((t) => t.close()));
    });

    it('reports a closed port as PORT_UNREACHABLE (716) after the first send', async () => {
      const gone = await bound();
      const closedPort = (gone.localAddress() as { port: number }).port;
      await gone.close();
      const client = await open();
      const errors: MqttSnError[] = [];
      client.onError((error) => errors.push(error));
      await client.connect({ address: '127.0.0.1', port: closedPort });
      client.send(Buffer.from([2, 0x18]), { address: '127.0.0.1', port: closedPort });
      await waitFor(() => errors.length > 0, 'the port unreachable');
      assert.equal(errors[0].code, ErrorCode.PORT_UNREACHABLE);
      assert.match(errors[0].description, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
    });

    it('shows the address of the interface the route uses, not the wildcard it is bound to', async () => {
      const peer = await open();
      const client = await open();
      assert.equal(client.localAddress()?.address, '0.0.0.0');
      await client.connect({ address: '127.0.0.1', port: (peer.localAddress() as { port: number }).port });
      assert.equal(client.localAddress()?.address, '127.0.0.1');
    });

    it('still sends to others: to its peer connected, to anyone else after disconnecting', async () => {
      const peer = await open();
      const other = await open();
      const client = await open();
      const heard: string[] = [];
      const listen = (name: string) => (batch: readonly ReceivedDatagram[]) => {
        for (const d of batch) heard.push(`${name}:${d.data.toString()}`);
      };
      peer.onReceive(listen('peer'));
      other.onReceive(listen('other'));
      const peerAt = { address: '127.0.0.1', port: (peer.localAddress() as { port: number }).port };
      const otherAt = { address: '127.0.0.1', port: (other.localAddress() as { port: number }).port };
      await client.connect(peerAt);
      client.send(Buffer.from('one'), peerAt);
      await waitFor(() => heard.length === 1, 'the first datagram');
      client.send(Buffer.from('two'), otherAt);
      await waitFor(() => heard.length === 2, 'the second datagram');
      client.send(Buffer.from('three'), peerAt);
      await waitFor(() => heard.length === 3, 'the third datagram');
      assert.deepEqual(heard, ['peer:one', 'other:two', 'peer:three']);
    });
  });
}
