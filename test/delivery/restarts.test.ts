/**
 * Surviving restarts, with real processes: a mosquitto of the test's own,
 * stopped and started again under a running gateway; gateway processes
 * killed under a sleeping client.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import { MqttSnGateway } from '../../lib/gateway';
import { MqttSnClient, type MQTTSN } from '../../lib/client';
import { MqttSnError } from '../../lib/errors';
import { LISTENING_ON_LOOPBACK, runGateway, waitForOutput, type GatewayProcess } from '../helpers/gateway-process';
import { startPrivateMosquitto, type RunningBroker } from '../helpers/brokers';
import { freeTcpPort, freeUdpPort } from '../helpers/net';
import { delay } from '../helpers/mqtt-inbox';
import { newClient, uniq, waitFor } from '../client/support';

/** How many times each sequence number published on `topic` reached `watcher`. */
function countArrivals(watcher: mqtt.MqttClient, topic: string): Map<number, number> {
  const arrived = new Map<number, number>();
  watcher.on('message', (t, payload) => {
    if (t !== topic) return;
    const seq = Number(payload.toString());
    arrived.set(seq, (arrived.get(seq) ?? 0) + 1);
  });
  return arrived;
}

/** A private mosquitto with persistence, which a test stops and starts again on its port. */
class MosquittoProcess {
  private constructor(
    private running: RunningBroker,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<MosquittoProcess> {
    const port = await freeTcpPort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-persistence-'));
    return new MosquittoProcess(await startPrivateMosquitto(port, dir), port, dir);
  }

  /** Stops it (SIGTERM saves the persistent sessions) and starts it again after `downMs`. */
  async restart(downMs: number): Promise<void> {
    await this.running.stop();
    await delay(downMs);
    this.running = await startPrivateMosquitto(this.port, this.dir);
  }

  async close(): Promise<void> {
    await this.running.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('surviving a broker restart', function () {
  this.timeout(90000);
  let broker: MosquittoProcess;
  let gateway: MqttSnGateway;
  let watcher: mqtt.MqttClient;
  let client: MQTTSN;

  beforeEach(async () => {
    broker = await MosquittoProcess.start();
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, broker: broker.url, retry: { interval: 300, count: 3 }, logLevel: 'error' });
    await gateway.start();
    // An MQTT client with a persistent session: what reaches the broker reaches it, restart or not.
    watcher = await mqtt.connectAsync(broker.url, { clientId: uniq('watcher'), clean: false, reconnectPeriod: 200 });
    client = newClient(['CongestionDelay=0.2']);
    client.timeout = 30;
    client.keepAliveInterval = 10;
  });

  afterEach(async () => {
    client.reset();
    await watcher.endAsync(true);
    await gateway.stop();
    await broker.close();
  });

  it('transparent gateway: keeps the MQTT-SN session, connects to the broker again, restores the subscription; none lost', async () => {
    const up = uniq('restart/up');
    const down = uniq('restart/down');
    const arrived = countArrivals(watcher, up);
    await watcher.subscribeAsync(up, { qos: 1 });
    const received: string[] = [];
    client.on('messageIn', (event) => received.push(event.message.toString()));
    const disconnects: unknown[] = [];
    client.on('disconnected', (event) => disconnects.push(event));
    await client.connectTo('127.0.0.1', gateway.address().port);
    const id = await client.registerTopic(up);
    await client.subscribe(down, 0, 1);

    const total = 200;
    const rejected: MqttSnError[] = [];
    let restarted: Promise<void> | undefined;
    for (let seq = 0; seq < total; seq++) {
      if (seq === 50) restarted = broker.restart(300);
      await client.publishMessage(id, 0, 1, String(seq)).catch((error: MqttSnError) => rejected.push(error));
    }
    await restarted;
    await waitFor(() => arrived.size === total, 20000, 'every message at the broker');
    const refusedMeanwhile = gateway.stats.congestionByLimit.brokerUnavailable ?? 0;

    // The subscription came back with the connection.
    const publisher = await mqtt.connectAsync(broker.url, { clientId: uniq('publisher') });
    await publisher.publishAsync(down, 'after the restart', { qos: 1 });
    await publisher.endAsync();
    await waitFor(() => received.length === 1, 10000, 'the message on the restored subscription');

    let duplicated = 0;
    for (const copies of arrived.values()) duplicated += copies - 1;
    console.log(`      broker restart: ${total} QoS 1 sent, ${total - arrived.size} lost, ${duplicated} duplicated, ${rejected.length} rejected, ${refusedMeanwhile} answered "congestion" meanwhile`);
    assert.deepEqual(rejected.map((e) => e.code), [], 'no call rejected');
    assert.ok(refusedMeanwhile > 0, 'publishes during the restart were answered "congestion"');
    assert.deepEqual(received, ['after the restart']);
    assert.deepEqual(disconnects, [], 'the MQTT-SN session stayed');
    assert.equal(gateway.clientCount, 1);
    await client.disconnect();
  });
});

describe('two gateways in front of one broker: a sleeping client fails over', function () {
  this.timeout(60000);
  let broker: MosquittoProcess;
  const gateways: GatewayProcess[] = [];
  const clients: MQTTSN[] = [];
  let publisher: mqtt.MqttClient | undefined;

  async function startGateway(id: number): Promise<{ process: GatewayProcess; port: number }> {
    const running = runGateway(['--port', '0', '--host', '127.0.0.1', '--broker', broker.url, '--mode', 'transparent', '--gateway-id', String(id)]);
    gateways.push(running);
    const [, port] = await waitForOutput(running, LISTENING_ON_LOOPBACK);
    return { process: running, port: Number(port) };
  }

  beforeEach(async () => {
    broker = await MosquittoProcess.start();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.reset();
    await publisher?.endAsync();
    publisher = undefined;
    for (const running of gateways.splice(0)) {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
      await running.exited;
    }
    await broker.close();
  });

  it('keeps its session and retrieves every message sent while it slept, after its gateway was killed', async () => {
    const a = await startGateway(1);
    const b = await startGateway(2);
    const topic = uniq('failover');
    const clientId = uniq('sleeper');
    const sleeper = (): MQTTSN => {
      const client = newClient();
      clients.push(client);
      client.clientId = clientId;
      client.cleanSession = false;
      client.keepAliveInterval = 10;
      return client;
    };

    const atA = sleeper();
    await atA.connectTo('127.0.0.1', a.port);
    await atA.subscribe(topic, 0, 1);
    await atA.startSleep(30);

    publisher = await mqtt.connectAsync(broker.url, { clientId: uniq('publisher') });
    const send = async (from: number, to: number): Promise<void> => {
      for (let seq = from; seq < to; seq++) await publisher?.publishAsync(topic, String(seq), { qos: 1 });
    };
    await send(0, 10);
    await delay(200);
    // Gateway A dies while the client sleeps; more is published meanwhile.
    a.process.child.kill('SIGKILL');
    await a.process.exited;
    await send(10, 20);

    // The client wakes up: its gateway does not answer, the call fails with a code.
    const refused = await atA.stopSleep().then(
      () => undefined,
      (error: MqttSnError) => error,
    );
    assert.ok(refused instanceof MqttSnError && typeof refused.code === 'number', 'the wake-up failed with a coded error');

    // It comes back at gateway B with its session.
    const atB = sleeper();
    const seen = new Map<number, number>();
    atB.on('messageIn', (event) => {
      const seq = Number(event.message.toString());
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    });
    await atB.connectTo('127.0.0.1', b.port);
    await waitFor(() => seen.size === 20, 15000, 'every message sent while it slept');
    // The subscription is the session's, kept at the broker: new messages arrive through B too.
    await send(20, 21);
    await waitFor(() => seen.has(20), 5000, 'a message sent after the failover');
    let duplicated = 0;
    for (const copies of seen.values()) duplicated += copies - 1;
    console.log(`      failover: 20 QoS 1 sent while asleep (10 after gateway A was killed), ${20 - [...seen.keys()].filter((s) => s < 20).length} lost, ${duplicated} duplicated; wake-up at the dead gateway rejected with code ${refused.code}`);
    await atB.disconnect();
  });
});

describe('surviving a gateway restart', function () {
  this.timeout(90000);
  let broker: MosquittoProcess;
  let gateway: GatewayProcess | undefined;
  let client: MqttSnClient | undefined;
  let watcher: mqtt.MqttClient | undefined;

  function startGateway(port: number): Promise<RegExpMatchArray> {
    gateway = runGateway(['--port', String(port), '--host', '127.0.0.1', '--broker', broker.url, '--mode', 'transparent']);
    return waitForOutput(gateway, LISTENING_ON_LOOPBACK);
  }

  beforeEach(async () => {
    broker = await MosquittoProcess.start();
  });

  afterEach(async () => {
    await client?.end(true);
    client = undefined;
    await watcher?.endAsync(true);
    watcher = undefined;
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGTERM');
    await gateway?.exited;
    await broker.close();
  });

  it('gateway killed and restarted mid-stream: the managed client reconnects by itself with its session; none lost', async () => {
    const port = await freeUdpPort();
    await startGateway(port);
    const up = uniq('gwrestart/up');
    const down = uniq('gwrestart/down');
    watcher = await mqtt.connectAsync(broker.url, { clientId: uniq('watcher'), clean: false });
    const arrived = countArrivals(watcher, up);
    await watcher.subscribeAsync(up, { qos: 1 });

    client = new MqttSnClient({
      host: '127.0.0.1',
      port,
      clientId: uniq('restarted'),
      cleanSession: false,
      keepAlive: 10,
      retry: { interval: 300, count: 3 },
      congestionDelay: 200,
      reconnect: { minDelay: 200, maxDelay: 1000 },
      logLevel: 0,
    });
    const received = new Set<string>();
    client.on('message', (_topic, payload) => received.add(Buffer.from(payload).toString()));
    const reconnects: boolean[] = [];
    client.on('connect', (info) => reconnects.push(info.reconnected));
    await client.connect();
    await client.subscribe(down, { qos: 1 });

    const total = 100;
    const rejected: number[] = [];
    const running = gateway as GatewayProcess;
    for (let seq = 0; seq < total; seq++) {
      if (seq === 30) {
        running.child.kill('SIGKILL');
        await running.exited;
        // Published while no gateway runs: the broker keeps it for the client's session.
        for (let n = 0; n < 20; n++) await watcher.publishAsync(down, `down ${n}`, { qos: 1 });
        await startGateway(port);
      }
      await client.publish(up, String(seq), { qos: 1 }).catch((error: MqttSnError) => rejected.push(error.code));
    }
    await waitFor(() => arrived.size === total, 20000, 'every message at the broker');
    await waitFor(() => received.size === 20, 20000, 'every message published while the gateway was down');
    let duplicated = 0;
    for (const copies of arrived.values()) duplicated += copies - 1;
    console.log(`      gateway restart: ${total} QoS 1 sent, ${total - arrived.size} lost, ${duplicated} duplicated, ${rejected.length} rejected; 20 sent to the client while the gateway was down, ${20 - received.size} lost; reconnected ${reconnects.filter((r) => r).length} time(s)`);
    assert.deepEqual(rejected, [], 'no call rejected');
    assert.ok(reconnects.includes(true), 'the client reconnected by itself');
  });
});
