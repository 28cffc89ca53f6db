/**
 * An aggregating gateway's sessions outlive it with a session store: gateway
 * processes killed with SIGKILL and started again on the same port and file,
 * a sleeping client that then retrieves every message, and a client that
 * connects again with its subscription kept.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import type { MQTTSN } from '../../lib/client';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MqttSnGateway } from '../../lib/gateway';
import { startMosquitto, type RunningBroker } from '../helpers/brokers';
import { LISTENING_ON_LOOPBACK, runGateway, waitForOutput, type GatewayProcess } from '../helpers/gateway-process';
import { freeUdpPort } from '../helpers/net';
import { newClient, uniq, waitFor } from '../client/support';

/** The QoS 1/2 messages the store holds for `clientId` (0 while the file is not there yet). */
function storedMessages(file: string, clientId: string): number {
  if (!fs.existsSync(file)) return 0;
  const table = JSON.parse(fs.readFileSync(file, 'utf8')) as { sessions: Array<{ clientId: string; messages: unknown[] }> };
  return table.sessions.find((s) => s.clientId === clientId)?.messages.length ?? 0;
}

describe('aggregating gateway with a session store: sessions outlive a gateway killed and restarted', function () {
  this.timeout(60000);
  let broker: RunningBroker;
  let dir: string;
  let store: string;
  let gateway: GatewayProcess | undefined;
  const clients: MQTTSN[] = [];
  let publisher: mqtt.MqttClient | undefined;

  async function startGateway(port: number): Promise<void> {
    gateway = runGateway(['--port', String(port), '--host', '127.0.0.1', '--broker', broker.url as string, '--mode', 'aggregating', '--session-store', store]);
    await waitForOutput(gateway, LISTENING_ON_LOOPBACK, 15000);
  }

  async function killGateway(): Promise<void> {
    const running = gateway as GatewayProcess;
    running.child.kill('SIGKILL');
    await running.exited;
  }

  function client(clientId: string): MQTTSN {
    const c = newClient();
    clients.push(c);
    c.clientId = clientId;
    c.cleanSession = false;
    c.keepAliveInterval = 30;
    return c;
  }

  beforeEach(async () => {
    broker = await startMosquitto();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-store-'));
    store = path.join(dir, 'sessions.json');
    publisher = await mqtt.connectAsync(broker.url as string, { clientId: uniq('publisher') });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.reset();
    await publisher?.endAsync();
    publisher = undefined;
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGTERM');
    await gateway?.exited;
    gateway = undefined;
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a sleeping client retrieves what was buffered before the kill and what came after the restart: none lost, none twice', async () => {
    const port = await freeUdpPort();
    await startGateway(port);
    const topic = uniq('store/sleep');
    const clientId = uniq('sleeper');
    const sleeper = client(clientId);
    await sleeper.connectTo('127.0.0.1', port);
    await sleeper.subscribe(topic, 0, 1);
    await sleeper.startSleep(60);
    for (let seq = 0; seq < 10; seq++) await publisher?.publishAsync(topic, String(seq), { qos: 1 });
    await waitFor(() => storedMessages(store, clientId) === 10, 10000, 'the buffered messages in the store');

    await killGateway();
    await startGateway(port);
    for (let seq = 10; seq < 20; seq++) await publisher?.publishAsync(topic, String(seq), { qos: 1 });
    await waitFor(() => storedMessages(store, clientId) === 20, 10000, 'the messages after the restart buffered too');

    const seen = new Map<number, number>();
    sleeper.on('messageIn', (event) => {
      if (event.topicName !== topic) return;
      const seq = Number(event.message.toString());
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    });
    await sleeper.retrieveMessages();
    await waitFor(() => seen.size === 20, 10000, 'every message');
    const twice = [...seen.values()].filter((copies) => copies > 1).length;
    console.log(`      aggregating restart: 20 QoS 1 sent to a sleeping client (10 before the kill), ${20 - seen.size} lost, ${twice} twice`);
    assert.equal(twice, 0);
  });

  it('a client that connects again with clean session off finds its subscription', async () => {
    const port = await freeUdpPort();
    await startGateway(port);
    const topic = uniq('store/active');
    const clientId = uniq('active');
    const first = client(clientId);
    await first.connectTo('127.0.0.1', port);
    await first.subscribe(topic, 0, 1);
    await waitFor(() => fs.existsSync(store) && fs.readFileSync(store, 'utf8').includes(topic), 10000, 'the subscription in the store');
    await killGateway();
    first.reset();
    await startGateway(port);

    const again = client(clientId);
    const received: string[] = [];
    again.on('messageIn', (event) => received.push(event.message.toString()));
    await again.connectTo('127.0.0.1', port);
    await publisher?.publishAsync(topic, 'after the restart', { qos: 1 });
    await waitFor(() => received.includes('after the restart'), 10000, 'a message through the kept subscription');
    await again.disconnect();
  });
});

describe('session store options', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-store-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is refused in transparent mode, where the broker keeps the sessions', () => {
    assert.throws(
      () => new MqttSnGateway({ mode: 'transparent', sessionStore: path.join(dir, 'sessions.json') }),
      (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.INVALID_ARGUMENT && /aggregating/.test(error.description),
    );
  });

  it('makes start fail with a coded error when the store cannot be read, rather than start empty', async () => {
    const file = path.join(dir, 'sessions.json');
    fs.writeFileSync(file, 'not json');
    const gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, mode: 'aggregating', sessionStore: file, logLevel: 'error' });
    await assert.rejects(gateway.start(), (error: unknown) => error instanceof MqttSnError && error.code === ErrorCode.INVALID_ARGUMENT && /session store/.test(error.description));
    assert.equal(fs.readFileSync(file, 'utf8'), 'not json', 'the store left as it was, for its owner to look at');
  });
});
