/**
 * The client over DTLS through the project's gateway, beyond the end-to-end
 * suite (which also runs over DTLS, end-to-end.test.ts): a client id not
 * bound to the identity, a spoofed ClientHello flood at the gateway, and
 * QoS 1 publishes through 20 % loss, duplication and reordering.
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { MqttSnClient } from '../../lib/client';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MqttSnGateway } from '../../lib/gateway';
import { MemoryNetwork } from '../../lib/transport/memory';
import { firstClientHello } from '../helpers/dtls-side';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { until } from '../helpers/until';
import { DTLS_KEY, PSK_LINK } from './dtls-links';
import { UDP_NETS } from '../helpers/nets';
import { startRig } from './support';

const KEY = DTLS_KEY;
const PSK = PSK_LINK;

describe('MQTTSN client over DTLS: what only DTLS does', function () {
  this.timeout(30000);

  for (const net of UDP_NETS) {
    it(`a client id not bound to its identity is refused (709, CONNACK "not supported" at the gateway; ${net.name})`, async () => {
      const rig = await startRig('embedded', {}, net, { ...PSK, dtls: { ...PSK.dtls, port: 0, clientIds: { 'e2e-psk': ['allowed-*'] } } });
      try {
        const client = rig.client();
        client.clientId = 'someone-else';
        await assert.rejects(client.connectTo('127.0.0.1', rig.port), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.CONNECTION_REFUSED);
        client.clientId = 'allowed-1';
        await client.connectTo('127.0.0.1', rig.port);
        await client.disconnect();
      } finally {
        await rig.stop();
      }
    });

    it(`a spoofed ClientHello flood at the gateway gets only cookie replies no larger than the requests (${net.name})`, async () => {
      const rig = await startRig('embedded', {}, net, PSK);
      const sockets: dgram.Socket[] = [];
      try {
        const hello = firstClientHello();
        const replies: number[] = [];
        for (let i = 0; i < 30; i++) {
          const socket = dgram.createSocket('udp4');
          sockets.push(socket);
          await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
          socket.on('message', (reply) => replies.push(reply.length));
          socket.send(hello, rig.port, '127.0.0.1');
        }
        await until(() => replies.length === 30, 'a cookie reply to each ClientHello');
        assert.ok(replies.every((size) => size <= hello.length), `replies ${replies.join(',')} for ${hello.length} octets`);
        assert.equal(rig.gateway.clientCount, 0);
        // The gateway still serves a real client.
        const client = rig.client();
        await client.connectTo('127.0.0.1', rig.port);
        await client.disconnect();
      } finally {
        await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
        await rig.stop();
      }
    });
  }

  it('completes handshakes and delivers QoS 1 publishes through 20 % loss, duplication and reordering', async function () {
    this.timeout(90000);
    const network = new MemoryNetwork({ seed: 11, conditions: { loss: 0.2, duplicate: 0.1, reorder: 0.2 } });
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, logLevel: 'error', transport: network.factory, dtls: { port: 0, only: true, pskKeys: { 'e2e-psk': KEY } } });
    await gateway.start();
    const inbox = await MqttInbox.connect(gateway.brokerUrl);
    const clients: MqttSnClient[] = [];
    try {
      const heard = new Set<string>();
      inbox.client.on('message', (_topic, payload) => heard.add(payload.toString()));
      await inbox.subscribe('lossy/#', 1);
      for (let c = 0; c < 3; c++) {
        clients.push(
          new MqttSnClient({
            host: '127.0.0.1',
            port: gateway.dtlsAddress().port,
            clientId: `lossy-${c}`,
            transport: network.factory,
            retry: { interval: 300, count: 10 },
            connectTimeout: 20000,
            callTimeout: 20000,
            reconnect: { minDelay: 100, maxDelay: 500 },
            dtls: { pskIdentity: 'e2e-psk', pskKey: KEY, handshakeTimeout: 20000 },
          }),
        );
      }
      await Promise.all(clients.map((client) => client.connect()));
      const sent: string[] = [];
      await Promise.all(
        clients.map(async (client, c) => {
          for (let i = 0; i < 10; i++) {
            await client.publish(`lossy/${c}`, `m${c}-${i}`, { qos: 1 });
            sent.push(`m${c}-${i}`);
          }
        }),
      );
      await until(() => sent.every((text) => heard.has(text)), 'every QoS 1 publish at the broker', 20000);
      assert.equal(sent.length, 30);
    } finally {
      await Promise.all(clients.map((client) => client.end(true)));
      await inbox.close();
      await gateway.stop();
      network.close();
    }
  });
});
