/**
 * Gateway behaviour that does not depend on the broker: discovery, hostile
 * input, limits, options, IPv6. Runs against the embedded broker, over each
 * network (UDP, in memory).
 */
import * as assert from 'node:assert';
import * as net from 'node:net';
import { decode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MqttSnGateway, type GatewayLogEntry, type GatewayOptions } from '../../lib/gateway';
import type { DatagramTransport, TransportFactory } from '../../lib/transport/types';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';
import { freeTcpPort } from '../helpers/net';
import { NETS, type NetUnderTest, type OpenNet } from '../helpers/nets';

/** A transport collecting what arrives on it (ADVERTISE listener). */
async function listener(
  transport: TransportFactory,
  options: { multicast?: string } = {},
): Promise<{ transport: DatagramTransport; port: number; packets: Packet[] }> {
  const bound = transport();
  const packets: Packet[] = [];
  bound.onReceive((batch) => {
    for (const datagram of batch) packets.push(decode(datagram.data));
  });
  await bound.bind({ family: 4, address: options.multicast ? '' : '127.0.0.1', reuseAddress: true });
  if (options.multicast) bound.addMembership(options.multicast, '127.0.0.1');
  return { transport: bound, port: bound.localAddress()?.port ?? 0, packets };
}

/** A real broker that holds every publish until the test releases it. */
async function stallingBroker(): Promise<{ url: string; held: Array<() => void>; connections: () => number; close: () => Promise<void> }> {
  const { Aedes } = await import('aedes');
  const held: Array<() => void> = [];
  const aedes = await Aedes.createBroker({ authorizePublish: (_client, _packet, callback) => held.push(() => callback(null)) });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    held,
    connections: () => sockets.size,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(20);
  }
}

function gatewaySuite(on: NetUnderTest): void {
  describe(`gateway over ${on.name}`, function () {
    this.timeout(10000);
    const gateways: MqttSnGateway[] = [];
    const clients: RawClient[] = [];
    const listeners: DatagramTransport[] = [];
    let network: OpenNet;

    async function startGateway(options: GatewayOptions = {}): Promise<MqttSnGateway> {
      const gateway = new MqttSnGateway({ transport: network.transport, host: '127.0.0.1', port: 0, retry: { interval: 300, count: 1 }, ...options });
      gateways.push(gateway);
      await gateway.start();
      return gateway;
    }

    async function client(gateway: MqttSnGateway, host = '127.0.0.1'): Promise<RawClient> {
      const c = await RawClient.open(gateway.address().port, host, 0, { transport: network.transport });
      clients.push(c);
      return c;
    }

    before(() => {
      network = on.open();
    });

    after(() => network.close());

    afterEach(async () => {
      await RawClient.closeAll(clients.splice(0));
      await Promise.all(listeners.splice(0).map((l) => l.close()));
      await Promise.all(gateways.splice(0).map((g) => g.stop()));
    });

    describe('with default limits', () => {
      let gateway: MqttSnGateway;
      const logs: GatewayLogEntry[] = [];

      before(async () => {
        gateway = new MqttSnGateway({ transport: network.transport, host: '127.0.0.1', port: 0, gatewayId: 42, logLevel: 'debug' });
        gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
        await gateway.start();
      });

      after(async () => {
        await RawClient.closeAll(clients.splice(0));
        await gateway.stop();
      });

      it('starts an embedded broker that MQTT clients can use', async () => {
        assert.match(gateway.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
        const inbox = await MqttInbox.connect(gateway.brokerUrl);
        await inbox.close();
        assert.ok(logs.some((l) => l.level === 'info' && l.message.includes(`${on.name} 127.0.0.1:${gateway.address().port}`)));
        assert.ok(logs.some((l) => l.message.includes(gateway.brokerUrl)));
      });

      it('answers SEARCHGW with GWINFO carrying its gateway id', async () => {
        const c = await client(gateway);
        const info = await c.request({ type: 'SEARCHGW', radius: 0 }, 'GWINFO');
        assert.strictEqual(info.gwId, 42);
        assert.strictEqual(info.gwAdd, undefined);
      });

      it('drops malformed datagrams, counts and logs them, and keeps serving', async () => {
        const c = await client(gateway);
        const before = gateway.stats.malformed;
        const garbage = [
          Buffer.from([0x01]), // too short
          Buffer.from([0x05, 0x0c, 0x00]), // length says 5, 3 octets
          Buffer.from([0x03, 0x03, 0x00]), // reserved type
          Buffer.from([0x06, 0x04, 0x04, 0x02, 0x00, 0x3c]), // CONNECT with protocol id 2 and no client id
        ];
        for (const datagram of garbage) c.sendRaw(datagram);
        await until(() => gateway.stats.malformed === before + garbage.length);
        assert.ok(logs.some((l) => l.level === 'debug' && l.message.includes('malformed')));
        assert.strictEqual((await c.connect('after-garbage')).returnCode, 0);
        await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
      });

      it('keeps a client that pings within its keep-alive', async () => {
        const c = await client(gateway);
        let lost = false;
        const onLost = (): void => {
          lost = true;
        };
        gateway.on('clientLost', onLost);
        await c.connect('pinger', 1);
        for (let i = 0; i < 4; i++) {
          await delay(500);
          await c.request({ type: 'PINGREQ' }, 'PINGRESP');
        }
        gateway.removeListener('clientLost', onLost);
        assert.strictEqual(lost, false);
        assert.strictEqual(gateway.clientCount, 1);
        await c.request({ type: 'DISCONNECT' }, 'DISCONNECT');
        assert.strictEqual(gateway.stats.clients, 0);
      });

      it('delivers retained messages to a new subscriber', async () => {
        const inbox = await MqttInbox.connect(gateway.brokerUrl);
        await inbox.publish('retained/one', 'kept', 1, true);
        const c = await client(gateway);
        await c.connect('retain-reader');
        const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 1, topicId: 'retained/one' }, 'SUBACK');
        assert.strictEqual(c.inbox.length, 0, 'the retained message came before SUBACK');
        const publish = await c.next('PUBLISH');
        assert.deepStrictEqual([publish.topicId, publish.retain, publish.payload.toString()], [suback.topicId, true, 'kept']);
        await inbox.publish('retained/one', '', 1, true);
        await inbox.close();
      });

      it('lets a client take over its session from a new address', async () => {
        const first = await client(gateway);
        await first.connect('mover');
        const count = gateway.clientCount;
        const second = await client(gateway);
        await second.connect('mover');
        assert.strictEqual(gateway.clientCount, count);
        await first.request({ type: 'PINGREQ' }, 'DISCONNECT');
        await second.request({ type: 'PINGREQ' }, 'PINGRESP');
      });
    });

    it('drops a QoS -1 PUBLISH to a short name with a wildcard, keeping its broker connection', async () => {
      const logs: GatewayLogEntry[] = [];
      const gateway = await startGateway({ mode: 'aggregating', logLevel: 'debug' });
      gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        await inbox.subscribe('ok');
        const stranger = await client(gateway);
        for (const short of ['#a', 'a+']) {
          stranger.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 2, topicId: short, msgId: 0, payload: Buffer.from('x') });
        }
        await until(() => logs.filter((l) => l.level === 'debug' && l.message.includes('QoS -1')).length === 2);
        stranger.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 2, topicId: 'ok', msgId: 0, payload: Buffer.from('after') });
        assert.strictEqual((await inbox.next('ok')).payload.toString(), 'after');
        await delay(300);
        const warnings = logs.filter((l) => l.level === 'warn' || l.level === 'error');
        assert.deepStrictEqual(warnings, [], 'the broker connection was disturbed');
        assert.strictEqual(gateway.stats.qosMinusOne, 1);
      } finally {
        await inbox.close();
      }
    });

    it('sends ADVERTISE to a unicast address on its interval', async () => {
      const target = await listener(network.transport);
      listeners.push(target.transport);
      await startGateway({ gatewayId: 5, advertise: { interval: 1, address: '127.0.0.1', port: target.port } });
      await until(() => target.packets.length >= 2, 10000);
      assert.deepStrictEqual(target.packets[0], { type: 'ADVERTISE', gwId: 5, duration: 1 });
    });

    it('sends ADVERTISE to a multicast group on the loopback interface', async () => {
      const target = await listener(network.transport, { multicast: '239.255.77.7' });
      listeners.push(target.transport);
      await startGateway({ gatewayId: 6, advertise: { interval: 60, address: '239.255.77.7', port: target.port } });
      await until(() => target.packets.length >= 1, 10000);
      assert.deepStrictEqual(target.packets[0], { type: 'ADVERTISE', gwId: 6, duration: 60 });
    });

    it('listens on IPv6', async () => {
      const gateway = await startGateway({ host: '::1' });
      assert.strictEqual(gateway.address().address, '::1');
      const c = await client(gateway, '::1');
      assert.strictEqual((await c.connect('v6')).returnCode, 0);
    });

    it('answers congestion when the client limit is reached', async () => {
      const gateway = await startGateway({ limits: { clients: 2 } });
      const [a, b, c] = [await client(gateway), await client(gateway), await client(gateway)];
      assert.strictEqual((await a.connect('one')).returnCode, 0);
      assert.strictEqual((await b.connect('two')).returnCode, 0);
      assert.strictEqual((await c.connect('three')).returnCode, 1);
      assert.strictEqual(gateway.stats.congestion, 1);
      await a.request({ type: 'DISCONNECT' }, 'DISCONNECT');
      assert.strictEqual((await c.connect('three')).returnCode, 0);
    });

    it('answers congestion when a client has registered its topic limit', async () => {
      const gateway = await startGateway({ limits: { topicsPerClient: 2 } });
      const c = await client(gateway);
      await c.connect('many-topics');
      await c.register('t/1', 1);
      await c.register('t/2', 2);
      const regack = await c.request({ type: 'REGISTER', topicId: 0, msgId: 3, topicName: 't/3' }, 'REGACK');
      assert.strictEqual(regack.returnCode, 1);
      const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId: 4, topicId: 't/4' }, 'SUBACK');
      assert.strictEqual(suback.returnCode, 1);
      // Registered ids keep working.
      assert.strictEqual(await c.register('t/1', 5), 1);
      // Wildcard filters take no id, and the same limit bounds how many a client holds.
      const other = await client(gateway);
      await other.connect('many-filters');
      const subscribe = (msgId: number, filter: string) =>
        other.request({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 0, msgId, topicId: filter }, 'SUBACK');
      assert.strictEqual((await subscribe(1, 'w/+/a')).returnCode, 0);
      assert.strictEqual((await subscribe(2, 'w/#')).returnCode, 0);
      assert.deepStrictEqual(
        [(await subscribe(3, 'w/+/b')).returnCode, (await subscribe(4, 'w/+/a')).returnCode],
        [1, 0],
        'a third filter is refused, a held one may be subscribed again',
      );
      await other.request({ type: 'UNSUBSCRIBE', topicIdType: 0, msgId: 5, topicId: 'w/#' }, 'UNSUBACK');
      assert.strictEqual((await subscribe(6, 'w/+/b')).returnCode, 0);
    });

    it('bounds the buffer of a sleeping client: QoS 0 dropped and counted, QoS 1 kept', async () => {
      const gateway = await startGateway({ limits: { bufferedMessages: 2 } });
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        const c = await client(gateway);
        await c.connect('light-sleeper');
        const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'buf' }, 'SUBACK');
        await c.request({ type: 'DISCONNECT', duration: 30 }, 'DISCONNECT');
        await inbox.publish('buf', 'q0-a', 0);
        await inbox.publish('buf', 'q1-b', 1);
        await inbox.publish('buf', 'q1-c', 1); // evicts q0-a
        await inbox.publish('buf', 'q0-d', 0); // dropped
        await until(() => gateway.stats.droppedQos0 === 2);
        c.send({ type: 'PINGREQ', clientId: 'light-sleeper' });
        const got: string[] = [];
        for (let i = 0; i < 2; i++) {
          const p = await c.next('PUBLISH');
          got.push(p.payload.toString());
          c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: p.msgId, returnCode: 0 });
        }
        await c.next('PINGRESP');
        assert.deepStrictEqual(got, ['q1-b', 'q1-c']);
      } finally {
        await inbox.close();
      }
    });

    it('keeps at most maxInFlight QoS 1 messages unacknowledged towards a client', async () => {
      // Retransmission out of the way: any second PUBLISH in the window below is a new message.
      const gateway = await startGateway({ limits: { maxInFlight: 1 }, retry: { interval: 5000, count: 1 } });
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        const c = await client(gateway);
        await c.connect('one-at-a-time');
        const suback = await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'window' }, 'SUBACK');
        await inbox.publish('window', 'first', 1);
        await inbox.publish('window', 'second', 1);
        const first = await c.next('PUBLISH');
        assert.ok(await c.silent('PUBLISH', 500), 'second PUBLISH before the first was acknowledged');
        assert.strictEqual(gateway.stats.deliveredDownstream, 1);
        c.send({ type: 'PUBACK', topicId: suback.topicId, msgId: first.msgId, returnCode: 0 });
        assert.strictEqual((await c.next('PUBLISH')).payload.toString(), 'second');
      } finally {
        await inbox.close();
      }
    });

    it('counts and logs a message the client refuses with a PUBACK return code', async () => {
      const logs: GatewayLogEntry[] = [];
      const gateway = await startGateway({ retry: { interval: 200, count: 2 } });
      gateway.on('log', (entry: GatewayLogEntry) => logs.push(entry));
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        const c = await client(gateway);
        await c.connect('picky');
        await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'picky' }, 'SUBACK');
        await inbox.publish('picky', 'refused', 1);
        const publish = await c.next('PUBLISH');
        c.send({ type: 'PUBACK', topicId: publish.topicId as number, msgId: publish.msgId, returnCode: 1 });
        await until(() => gateway.stats.undelivered === 1);
        assert.ok(logs.some((l) => l.level === 'warn' && l.message.includes('refused message')));
        assert.ok(await c.silent('PUBLISH', 400), 'a refused message was sent again');
        assert.strictEqual(gateway.stats.retransmissions, 0);
      } finally {
        await inbox.close();
      }
    });

    it('ends the session as a lost client, publishing its will, when a delivery goes unanswered after the retries', async () => {
      const gateway = await startGateway({ retry: { interval: 100, count: 2 } });
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        await inbox.subscribe('deaf/will', 1);
        const c = await client(gateway);
        const lost = new Promise<{ clientId: string }>((resolve) => gateway.once('clientLost', resolve));
        await c.request({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: 'deaf' }, 'WILLTOPICREQ');
        await c.request({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'deaf/will' }, 'WILLMSGREQ');
        await c.request({ type: 'WILLMSG', willMsg: Buffer.from('gone deaf') }, 'CONNACK');
        await c.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'deaf' }, 'SUBACK');
        await inbox.publish('deaf', 'never acknowledged', 1);
        assert.strictEqual((await lost).clientId, 'deaf');
        assert.strictEqual((await inbox.next('deaf/will')).payload.toString(), 'gone deaf');
        assert.strictEqual(gateway.stats.retransmissions, 2);
        assert.strictEqual(gateway.stats.lost, 1);
        assert.strictEqual(gateway.stats.undelivered, 1);
        assert.strictEqual(gateway.clientCount, 0);
      } finally {
        await inbox.close();
      }
    });

    it('answers PUBACK congestion while a client has maxInFlight publishes waiting for the broker', async () => {
      const broker = await stallingBroker();
      const { held } = broker;
      try {
        const gateway = await startGateway({ broker: broker.url, limits: { maxInFlight: 1 } });
        const c = await client(gateway);
        await c.connect('impatient');
        const topicId = await c.register('slow/broker');
        const publish = (msgId: number) =>
          c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId, msgId, payload: Buffer.from('x') });
        publish(1);
        await until(() => held.length === 1);
        publish(2);
        const congested = await c.next('PUBACK');
        assert.deepStrictEqual([congested.msgId, congested.returnCode], [2, 1]);
        held.splice(0).forEach((release) => release());
        const accepted = await c.next('PUBACK');
        assert.deepStrictEqual([accepted.msgId, accepted.returnCode], [1, 0]);
        await gateway.stop();
      } finally {
        await broker.close();
      }
    });

    for (const mode of ['transparent', 'aggregating'] as const) {
      it(`stops in ${mode} mode while the broker never acknowledges a publish`, async () => {
        const broker = await stallingBroker();
        try {
          const gateway = await startGateway({ broker: broker.url, mode });
          const c = await client(gateway);
          await c.connect(`stalled-${mode}`);
          const topicId = await c.register('stalled');
          c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId, msgId: 1, payload: Buffer.from('x') });
          await until(() => broker.held.length === 1);
          // A graceful MQTT end waits for the PUBACK forever; stop() drops the connection after a grace period.
          let stopped = false;
          const stopping = gateway.stop().then(() => (stopped = true));
          await until(() => stopped, 6000);
          await stopping;
          await until(() => broker.connections() === 0, 10000);
        } finally {
          await broker.close();
        }
      });
    }

    it('serves its embedded broker on a chosen port', async () => {
      const port = await freeTcpPort();
      const gateway = await startGateway({ embeddedBrokerPort: port });
      assert.strictEqual(gateway.brokerUrl, `mqtt://127.0.0.1:${port}`);
    });

    it('fails to start, with a typed error, when the broker cannot be reached', async () => {
      const port = await freeTcpPort();
      const gateway = new MqttSnGateway({ transport: network.transport, host: '127.0.0.1', port: 0, broker: `mqtt://127.0.0.1:${port}` });
      await assert.rejects(gateway.start(), (error: MqttSnError) => error.code === ErrorCode.SOCKET_ERROR);
    });

    it('fails to start, with a typed error, when its port is taken', async () => {
      const first = await startGateway();
      const second = new MqttSnGateway({ transport: network.transport, host: '127.0.0.1', port: first.address().port });
      await assert.rejects(second.start(), (error: MqttSnError) => error.code === ErrorCode.SOCKET_ERROR && /EADDRINUSE/.test(error.message));
    });

    it('rejects invalid options with INVALID_ARGUMENT', () => {
      const bad: GatewayOptions[] = [
        { mode: 'bridging' as GatewayOptions['mode'] },
        { port: 70000 },
        { gatewayId: 300 },
        { predefined: { '0': 'zero' } },
        { predefined: { '1': 'a/+' } },
        { broker: 'http://example' },
        { limits: { clients: 0 } },
      ];
      for (const options of bad) {
        assert.throws(
          () => new MqttSnGateway(options),
          (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.INVALID_ARGUMENT,
          JSON.stringify(options),
        );
      }
    });
  });
}

for (const on of NETS) gatewaySuite(on);
