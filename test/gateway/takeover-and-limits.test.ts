/**
 * What one sender can do to others' sessions, against real gateways: take a
 * session over, leave broker connections behind, fill the session table,
 * multiply will updates into reconnects, drain a sleeper's buffer elsewhere.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import { MqttSnGateway, type GatewayOptions } from '../../lib/gateway';
import { countingAedes, type CountingBroker } from '../helpers/brokers';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';

function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(25);
  }
}

const GENEROUS = { newSessionsPerSource: 1e6, newSessionsTotal: 1e6 };

describe('gateway takeover and limits', function () {
  this.timeout(30000);
  const gateways: MqttSnGateway[] = [];
  const clients: RawClient[] = [];
  const brokers: CountingBroker[] = [];
  const inboxes: MqttInbox[] = [];

  async function startGateway(options: GatewayOptions = {}): Promise<MqttSnGateway> {
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, retry: { interval: 300, count: 1 }, ...options });
    gateways.push(gateway);
    await gateway.start();
    return gateway;
  }

  async function client(gateway: MqttSnGateway, from = '127.0.0.1'): Promise<RawClient> {
    const c = await RawClient.open(gateway.address().port, '127.0.0.1', 0, { localAddress: from });
    clients.push(c);
    return c;
  }

  async function broker(): Promise<CountingBroker> {
    const b = await countingAedes();
    brokers.push(b);
    return b;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(inboxes.splice(0).map((i) => i.close()));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  const connect = (clientId: string, duration = 60, cleanSession = true) =>
    ({ type: 'CONNECT', will: false, cleanSession, duration, clientId }) as const;

  it('refuses a takeover from another host while the session is alive, and tells the old address of one it allows', async () => {
    const gateway = await startGateway();
    const owner = await client(gateway);
    await owner.connect('dev-1');
    const stranger = await client(gateway, '127.0.0.2');
    const refused = await stranger.request(connect('dev-1'), 'CONNACK');
    assert.strictEqual(refused.returnCode, 1);
    assert.strictEqual(gateway.stats.congestionByLimit.takeover, 1);
    await owner.request({ type: 'PINGREQ' }, 'PINGRESP');
    // the same host, another port (a restarted client): allowed, and the old port hears DISCONNECT
    const restarted = await client(gateway);
    const disconnected = owner.next('DISCONNECT', 3000);
    assert.strictEqual((await restarted.connect('dev-1')).returnCode, 0);
    await disconnected;
  });

  it('lets a silent session be taken over from anywhere, and any session with takeover allow', async () => {
    const gateway = await startGateway({ takeover: 'refuse-while-alive', keepAliveTolerance: 1 });
    const owner = await client(gateway);
    await owner.connect('dev-2', 1);
    const sameHost = await client(gateway);
    assert.strictEqual((await sameHost.request(connect('dev-2'), 'CONNACK')).returnCode, 1);
    await delay(600);
    await owner.request({ type: 'PINGREQ' }, 'PINGRESP');
    // silent for longer than its keep-alive (lost by then, or just about to be): free to take
    const elsewhere = await client(gateway, '127.0.0.3');
    await delay(1100);
    assert.strictEqual((await elsewhere.connect('dev-2')).returnCode, 0);

    const open = await startGateway({ takeover: 'allow' });
    const a = await client(open);
    await a.connect('dev-3');
    const b = await client(open, '127.0.0.4');
    const told = a.next('DISCONNECT', 3000);
    assert.strictEqual((await b.connect('dev-3')).returnCode, 0);
    await told;
  });

  it('keeps one broker connection per client id through a CONNECT storm, and none after it', async () => {
    const upstream = await broker();
    const inbox = await MqttInbox.connect(upstream.url);
    inboxes.push(inbox);
    await inbox.subscribe('storm/#', 1);
    const baseline = openDescriptors();
    const gateway = await startGateway({ broker: upstream.url, limits: GENEROUS, logLevel: 'error' });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => client(gateway)));
    let sent = 0;
    for (let round = 0; round < 40; round++) {
      for (const s of sockets) {
        await until(() => gateway.stats.received >= sent * 0.8, 'the gateway keeps up');
        s.send(connect('storm', 60, round % 2 === 0));
        // every other one gives up at once: abandoned while its broker connection is being made
        if (sent++ % 3 === 0) s.send({ type: 'DISCONNECT' });
        await delay(0);
      }
    }
    const last = await client(gateway);
    // the storm settles and a client connects (a CONNACK of the storm may come first)
    let seen = -1;
    await until(() => {
      const settled = gateway.stats.received === seen;
      seen = gateway.stats.received;
      return settled && seen >= sent;
    }, 'the storm arrives');
    for (let attempt = 0; ; attempt++) {
      if ((await last.request(connect('storm'), 'CONNACK', 10000)).returnCode === 0) break;
      assert.ok(attempt < 20, 'the client could not connect after the storm');
      await delay(300);
    }
    const id = await last.register('storm/t');
    const ack = await last.request({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: id, msgId: 1, payload: Buffer.from('after') }, 'PUBACK', 5000);
    assert.strictEqual(ack.returnCode, 0);
    assert.strictEqual((await inbox.next('storm/t')).payload.toString(), 'after');
    await until(() => upstream.clientIds().filter((c) => c === 'storm').length === 1, 'one broker connection of the client id');
    await delay(500);
    assert.deepStrictEqual(upstream.clientIds().filter((c) => c === 'storm'), ['storm']);
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
    await until(() => openDescriptors() <= baseline, `descriptors back to ${baseline} (now ${openDescriptors()})`);
    await until(() => upstream.open() === 1, 'only the test subscriber left at the broker');
  });

  it('coalesces will updates: one reconnect per interval, none when nothing changed', async () => {
    const upstream = await broker();
    const gateway = await startGateway({ broker: upstream.url, willUpdateInterval: 1000 });
    const c = await client(gateway);
    c.send({ type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: 'willy' });
    await c.next('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'wills/willy' });
    await c.next('WILLMSGREQ');
    assert.strictEqual((await c.request({ type: 'WILLMSG', willMsg: Buffer.from('gone') }, 'CONNACK')).returnCode, 0);
    const before = upstream.accepted();
    for (let i = 0; i < 200; i++) c.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('gone') });
    let same = 0;
    await until(() => {
      while (c.inbox.some((p) => p.type === 'WILLMSGRESP')) {
        c.inbox.splice(c.inbox.findIndex((p) => p.type === 'WILLMSGRESP'), 1);
        same++;
      }
      return same === 200;
    }, 'every unchanged update answered');
    assert.strictEqual(upstream.accepted(), before, 'no reconnect for an unchanged will');
    const started = Date.now();
    for (let i = 0; i < 200; i++) c.send({ type: 'WILLMSGUPD', willMsg: Buffer.from(`gone ${i}`) });
    let changed = 0;
    await until(() => {
      while (c.inbox.some((p) => p.type === 'WILLMSGRESP')) {
        const [resp] = c.inbox.splice(c.inbox.findIndex((p) => p.type === 'WILLMSGRESP'), 1);
        assert.strictEqual(resp.type === 'WILLMSGRESP' && resp.returnCode, 0);
        changed++;
      }
      return changed === 200;
    }, 'every update answered');
    const seconds = (Date.now() - started) / 1000;
    assert.ok(upstream.accepted() - before <= Math.ceil(seconds) + 1, `${upstream.accepted() - before} reconnects in ${seconds} s`);
  });

  it('limits sessions per source, forwarder nodes included, and new sessions per second', async () => {
    const gateway = await startGateway({ limits: { sessionsPerSource: 3, ...GENEROUS } });
    const forwarder = await client(gateway);
    for (let node = 0; node < 3; node++) {
      forwarder.wirelessNodeId = Buffer.from([node]);
      assert.strictEqual((await forwarder.connect(`node-${node}`)).returnCode, 0);
    }
    forwarder.wirelessNodeId = Buffer.from([9]);
    assert.strictEqual((await forwarder.request(connect('node-9'), 'CONNACK')).returnCode, 1);
    const samehost = await client(gateway);
    assert.strictEqual((await samehost.request(connect('other'), 'CONNACK')).returnCode, 1);
    assert.strictEqual(gateway.stats.congestionByLimit.sessionsPerSource, 2);
    const elsewhere = await client(gateway, '127.0.0.5');
    assert.strictEqual((await elsewhere.connect('elsewhere')).returnCode, 0);

    const slow = await startGateway({ limits: { newSessionsPerSource: 2, newSessionsTotal: 1000 } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await client(slow);
      codes.push((await c.request(connect(`rate-${i}`), 'CONNACK')).returnCode);
    }
    assert.deepStrictEqual(codes.slice(0, 2), [0, 0]);
    assert.ok(codes.slice(2).includes(1), `codes ${codes.join(',')}`);
    assert.ok((slow.stats.congestionByLimit.newSessionsPerSource ?? 0) >= 1);
  });

  it('ends a keep-alive 0 session after the idle limit', async () => {
    const gateway = await startGateway({ limits: { maxIdle: 1 } });
    const c = await client(gateway);
    await c.connect('idle', 0);
    await until(() => gateway.clientCount === 0, 'the idle session ends', 5000);
    assert.strictEqual(gateway.stats.lost, 1);
  });

  it('answers SEARCHGW at most once a second per source', async () => {
    const gateway = await startGateway();
    const c = await client(gateway);
    for (let i = 0; i < 10; i++) c.send({ type: 'SEARCHGW', radius: 0 });
    await c.next('GWINFO');
    assert.ok(await c.silent('GWINFO', 300));
    assert.ok(gateway.stats.searchLimited >= 9);
    const other = await client(gateway, '127.0.0.6');
    await other.request({ type: 'SEARCHGW', radius: 0 }, 'GWINFO');
  });

  it("delivers a sleeping client's buffer only to the address it slept from", async () => {
    const gateway = await startGateway();
    const inbox = await MqttInbox.connect(gateway.brokerUrl);
    inboxes.push(inbox);
    const sleeper = await client(gateway);
    await sleeper.connect('sleepy');
    await sleeper.request({ type: 'SUBSCRIBE', dup: false, qos: 1, topicIdType: 0, msgId: 1, topicId: 'sleepy/in' }, 'SUBACK');
    await sleeper.request({ type: 'DISCONNECT', duration: 60 }, 'DISCONNECT');
    await inbox.publish('sleepy/in', 'held', 1);
    await until(() => gateway.stats.deliveredDownstream === 0 && true, 'queued');
    const thief = await client(gateway, '127.0.0.7');
    thief.send({ type: 'PINGREQ', clientId: 'sleepy' });
    await thief.next('DISCONNECT');
    assert.ok(await thief.silent('PUBLISH', 300));
    sleeper.send({ type: 'PINGREQ', clientId: 'sleepy' });
    const message = await sleeper.next('PUBLISH', 3000);
    assert.strictEqual(message.payload.toString(), 'held');
  });
});
