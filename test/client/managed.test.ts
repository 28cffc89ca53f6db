/**
 * MqttSnClient, the managed connection, against the project's gateway with
 * mosquitto behind it: publish and subscribe by name, a gateway restarted on
 * the same port (reconnect, re-register, re-subscribe, held calls), the
 * bounds on held calls, a gateway DISCONNECT, opting out of reconnecting.
 */
import * as assert from 'node:assert/strict';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MqttSnGateway } from '../../lib/gateway';
import { MqttSnClient, type ManagedClientOptions } from '../../lib/client';
import { startMosquitto, type RunningBroker } from '../helpers/brokers';
import { LossyRelay } from '../helpers/lossy-relay';
import { ReconnectDelay } from '../../lib/client/reconnect-delay';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { NETS, waitFor } from './support';
import type { OpenNet } from '../helpers/nets';

function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}

const FAST: Partial<ManagedClientOptions> = {
  retry: { interval: 300, count: 2 },
  pingTimeout: 300,
  connectTimeout: 3000,
  callTimeout: 5000,
  reconnect: { minDelay: 100, maxDelay: 500, jitter: 0.5 },
};

function coded(code: number) {
  return (error: unknown): boolean => error instanceof MqttSnError && error.code === code;
}

for (const net of NETS) describe(`MqttSnClient (managed connection, ${net.name})`, function () {
  this.timeout(20000);
  let broker: RunningBroker;
  let gateway: MqttSnGateway;
  let port: number;
  let inbox: MqttInbox;
  let opened: OpenNet;
  const clients: MqttSnClient[] = [];

  async function startGateway(onPort = 0): Promise<void> {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: onPort, broker: broker.url, retry: { interval: 300, count: 3 }, logLevel: 'error', transport: opened.transport });
    await gateway.start();
    port = gateway.address().port;
  }

  function client(options: Partial<ManagedClientOptions> = {}): MqttSnClient {
    const c = new MqttSnClient({ host: '127.0.0.1', port, transport: opened.transport, ...FAST, ...options });
    clients.push(c);
    return c;
  }

  before(async () => {
    broker = await startMosquitto();
  });

  after(async () => {
    await broker.stop();
  });

  beforeEach(async () => {
    opened = net.open();
    await startGateway();
    inbox = await MqttInbox.connect(broker.url as string, { clientId: uniq('inbox') });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end(true);
    await inbox.close();
    await gateway.stop();
    opened.close();
  });

  it('publishes and subscribes by topic name; messages arrive with the name', async () => {
    const topic = uniq('managed/out');
    await inbox.subscribe(topic, 1);
    const c = client();
    const connected = new Promise((resolve) => c.once('connect', resolve));
    await c.connect();
    assert.deepEqual(await connected, { gateway: `127.0.0.1:${port}`, reconnected: false });
    assert.equal(c.connected, true);
    await Promise.all([c.publish(topic, 'one', { qos: 1 }), c.publish(topic, 'two', { qos: 1 })]);
    assert.equal((await inbox.next(topic)).payload.toString(), 'one');
    assert.equal((await inbox.next(topic)).payload.toString(), 'two');

    const incoming = uniq('managed/in');
    await c.subscribe(`${incoming}/+`, { qos: 1 });
    const got = new Promise<[string, string, number]>((resolve) => c.once('message', (t, p, info) => resolve([t, p.toString(), info.qos])));
    await inbox.publish(`${incoming}/x`, 'hello', 1);
    assert.deepEqual(await got, [`${incoming}/x`, 'hello', 1]);
    await c.end();
    assert.equal(c.connected, false);
  });

  it('survives a gateway restart on the same port: reconnects, registers and subscribes again, sends what it held', async () => {
    const out = uniq('restart/out');
    const incoming = uniq('restart/in');
    await inbox.subscribe(out, 1);
    const c = client({ keepAlive: 1 });
    const texts: string[] = [];
    c.on('message', (topic, payload) => {
      if (topic === incoming) texts.push(payload.toString());
    });
    const events: string[] = [];
    c.on('offline', (e) => events.push(`offline ${e.code}`));
    c.on('connect', (info) => events.push(`connect ${info.reconnected}`));
    await c.connect();
    await c.subscribe(incoming, { qos: 1 });
    await c.publish(out, 'before', { qos: 1 });
    assert.equal((await inbox.next(out)).payload.toString(), 'before');

    await gateway.stop();
    await waitFor(() => !c.connected, 8000, 'the client to notice the lost gateway');
    const held = c.publish(out, 'during', { qos: 1 });
    assert.equal(c.heldCalls.count, 1);
    await startGateway(port);
    await held;
    assert.equal((await inbox.next(out, 5000)).payload.toString(), 'during');
    assert.equal(c.connected, true);
    assert.ok(events.includes('connect true'), events.join(', '));
    assert.ok(events.some((e) => e === `offline ${ErrorCode.GATEWAY_LOST}` || e === `offline ${ErrorCode.NOT_CONNECTED}`), events.join(', '));
    // Subscribed again: a message published after the restart arrives.
    await inbox.publish(incoming, 'after', 1);
    await waitFor(() => texts.includes('after'), 5000, 'the message after the restart');
    await c.publish(out, 'registered again', { qos: 1 });
    assert.equal((await inbox.next(out)).payload.toString(), 'registered again');
  });

  it('reconnects after a DISCONNECT the gateway sends on its own', async () => {
    const relay = await LossyRelay.start({ address: '127.0.0.1', port }, undefined, opened.transport);
    try {
      const out = uniq('disc/out');
      await inbox.subscribe(out, 1);
      const c = client({ port: relay.address().port });
      await c.connect();
      await c.publish(out, 'first', { qos: 1 });
      const offline = new Promise<MqttSnError>((resolve) => c.once('offline', resolve));
      const back = new Promise((resolve) => c.once('connect', resolve));
      relay.injectToClients(Buffer.from([2, 0x18]));
      assert.equal((await offline).code, ErrorCode.NOT_CONNECTED);
      await back;
      await c.publish(out, 'second', { qos: 1 });
      assert.equal((await inbox.next(out)).payload.toString(), 'first');
      assert.equal((await inbox.next(out)).payload.toString(), 'second');
      assert.equal(relay.packets('REGISTER', 'up').length, 2, 'the name registered again on the new session');
    } finally {
      await relay.stop();
    }
  });

  it('holds calls up to the count and octet bounds, then rejects with LIMIT_REACHED; end() rejects the held ones', async () => {
    const c = client({ keepAlive: 1, hold: { count: 2, bytes: 10 } });
    await c.connect();
    await gateway.stop();
    await waitFor(() => !c.connected, 8000, 'the client to notice the lost gateway');
    const first = c.publish('held/a', '12345', { qos: 1 });
    const second = c.publish('held/b', '12345', { qos: 1 });
    await assert.rejects(c.publish('held/c', 'x', { qos: 1 }), coded(ErrorCode.LIMIT_REACHED));
    assert.deepEqual(c.heldCalls, { count: 2, bytes: 10 });
    await c.end();
    await assert.rejects(first, coded(ErrorCode.ABORTED));
    await assert.rejects(second, coded(ErrorCode.ABORTED));
    await assert.rejects(c.publish('held/d', 'x', { qos: 1 }), coded(ErrorCode.NOT_CONNECTED));
    await startGateway();
  });

  it('rejects a call awaiting its acknowledgement with ABORTED when end() comes first', async () => {
    const relay = await LossyRelay.start({ address: '127.0.0.1', port }, undefined, opened.transport);
    try {
      const c = client({ port: relay.address().port, retry: { interval: 1000, count: 5 } });
      await c.connect();
      relay.rule = (packet) => (packet.type === 'PUBLISH' || packet.type === 'REGISTER' ? 'drop' : 'forward');
      const pending = c.publish('pending/x', 'never acknowledged', { qos: 1 });
      await waitFor(() => relay.packets('REGISTER', 'up').length > 0, 3000, 'the REGISTER');
      await c.end();
      await assert.rejects(pending, coded(ErrorCode.ABORTED));
    } finally {
      await relay.stop();
    }
  });

  it('rejects held calls after the hold timeout with NOT_CONNECTED', async () => {
    const c = client({ keepAlive: 1, hold: { timeout: 300 } });
    await c.connect();
    await gateway.stop();
    await waitFor(() => !c.connected, 8000, 'the client to notice the lost gateway');
    await assert.rejects(c.publish('held/t', 'x', { qos: 1 }), coded(ErrorCode.NOT_CONNECTED));
    await startGateway();
  });

  it('with reconnect off, a lost gateway rejects the call in flight with GATEWAY_LOST and stays down', async () => {
    const relay = await LossyRelay.start({ address: '127.0.0.1', port }, undefined, opened.transport);
    try {
      const c = client({ port: relay.address().port, reconnect: false });
      await c.connect();
      await c.register('off/x');
      relay.rule = () => 'drop';
      let reconnects = 0;
      c.on('reconnect', () => reconnects++);
      await assert.rejects(c.publish('off/x', 'lost', { qos: 1 }), coded(ErrorCode.GATEWAY_LOST));
      await assert.rejects(c.publish('off/x', 'after', { qos: 1 }), coded(ErrorCode.NOT_CONNECTED));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(reconnects, 0);
    } finally {
      await relay.stop();
    }
  });

  it('keeps trying after a failed first connect and connects once the gateway is there', async () => {
    const free = port;
    await gateway.stop();
    const c = client({ port: free, retry: { interval: 100, count: 1 } });
    await assert.rejects(c.connect(), (e: MqttSnError) => e instanceof MqttSnError);
    const back = new Promise((resolve) => c.once('connect', resolve));
    await startGateway(free);
    await back;
    assert.equal(c.connected, true);
  });

  it('publishes QoS -1 to a pre-defined id and a short name without a session', async () => {
    await gateway.stop();
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, broker: broker.url, predefined: { '9': 'pre/nine' }, logLevel: 'error', transport: opened.transport });
    await gateway.start();
    port = gateway.address().port;
    await inbox.subscribe('pre/nine', 0);
    await inbox.subscribe('qq', 0);
    const c = client({ predefinedTopics: { '9': 'pre/nine' } });
    await c.publish('pre/nine', 'by name', { qos: -1 });
    await c.publish('qq', 'short', { qos: -1, topicType: 'short' });
    assert.equal((await inbox.next('pre/nine')).payload.toString(), 'by name');
    assert.equal((await inbox.next('qq')).payload.toString(), 'short');
    assert.equal(gateway.clientCount, 0);
    await assert.rejects(c.publish('plain/name', 'x', { qos: -1 }), coded(ErrorCode.INVALID_ARGUMENT));
  });

  it('checks its options and arguments (706)', () => {
    assert.throws(() => new MqttSnClient({}), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new MqttSnClient({ host: 'h', port: 0 }), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new MqttSnClient({ host: 'h', port: 1, cleanSession: false }), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new MqttSnClient({ host: 'h', port: 1, reconnect: { jitter: 2 } }), coded(ErrorCode.INVALID_ARGUMENT));
    const c = client();
    return Promise.all([
      assert.rejects(c.publish('a/#', 'x'), coded(ErrorCode.INVALID_ARGUMENT)),
      assert.rejects(c.publish('a', 'x', { qos: 3 as 1 }), coded(ErrorCode.INVALID_ARGUMENT)),
      assert.rejects(c.subscribe('a/#/b'), coded(ErrorCode.INVALID_ARGUMENT)),
    ]);
  });
});

describe('MqttSnClient reconnect delays', () => {
  it('doubles reconnect delays up to a ceiling, takes the jitter off at random, and starts over after a success', () => {
    const steady = new ReconnectDelay({ minDelay: 1000, maxDelay: 5000, jitter: 0 });
    assert.deepEqual([steady.next(), steady.next(), steady.next(), steady.next(), steady.next()], [1000, 2000, 4000, 5000, 5000]);
    steady.reset();
    assert.equal(steady.next(), 1000);
    const draws = [0, 0.5, 1];
    const jittered = new ReconnectDelay({ minDelay: 1000, maxDelay: 5000, jitter: 0.5 }, () => draws.shift() as number);
    assert.deepEqual([jittered.next(), jittered.next(), jittered.next()], [1000, 1500, 2000]);
  });
});
