/**
 * Real processes, killed and restarted: a plain Node.js program using the
 * built package's MqttSnClient (restart-program.ts) keeps publishing QoS 1
 * while the gateway process is killed and restarted on its port, and then the
 * broker (a private mosquitto) is stopped and restarted on its port. The
 * program has no reconnect code: the client reconnects, registers and
 * subscribes again (a message published after each restart reaches it), and
 * every publish ends acknowledged and delivered to an MQTT subscriber, or
 * rejected with a code. Counted: nothing silently lost.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as mqtt from 'mqtt';
import { startPrivateMosquitto, type RunningBroker } from '../helpers/brokers';
import { runGateway, waitForOutput, type GatewayProcess } from '../helpers/gateway-process';
import { freeTcpPort, freeUdpPort } from '../helpers/net';
import { until } from '../helpers/until';

type Report = Record<string, unknown> & { e: string };

/** The program as a child process, its reports collected. */
class Program {
  readonly reports: Report[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [path.join(__dirname, 'restart-program.js')], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    readline.createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.reports.push(JSON.parse(line) as Report);
    });
  }

  /** The first report from index `from` on that `match` accepts. */
  async next(match: (r: Report) => boolean, what: string, timeoutMs = 15000, from = 0): Promise<Report> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.reports.slice(from).find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no ${what} from the program within ${timeoutMs} ms; it reported:\n${this.reports.map((r) => JSON.stringify(r)).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  stop(): void {
    this.child.stdin?.write('stop\n');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

async function startGatewayProcess(port: number, brokerUrl: string): Promise<GatewayProcess> {
  const gateway = runGateway(['--host', '127.0.0.1', '--port', String(port), '--broker', brokerUrl]);
  await waitForOutput(gateway, /listening on (?:native-)?udp 127\.0\.0\.1:\d+/, 15000);
  return gateway;
}

async function killGateway(gateway: GatewayProcess | undefined): Promise<void> {
  if (!gateway || gateway.child.exitCode !== null) return;
  gateway.child.kill('SIGKILL');
  await gateway.exited;
}

describe('MqttSnClient in a plain program survives gateway and broker restarts (real processes)', function () {
  this.timeout(120000);
  let persistence: string;
  let brokerPort: number;
  let broker: RunningBroker | undefined;
  let gateway: GatewayProcess | undefined;
  let program: Program | undefined;
  let subscriber: mqtt.MqttClient | undefined;

  before(async () => {
    persistence = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-restarts-'));
    brokerPort = await freeTcpPort();
    broker = await startPrivateMosquitto(brokerPort, persistence);
  });

  after(async () => {
    program?.kill();
    await program?.exited;
    await subscriber?.endAsync(true);
    await killGateway(gateway);
    await broker?.stop();
    fs.rmSync(persistence, { recursive: true, force: true });
  });

  it('reconnects, registers and subscribes again; every QoS 1 publish arrives or rejects with a code', async () => {
    const prefix = `restarts/${Math.random().toString(16).slice(2, 10)}`;
    const url = `mqtt://127.0.0.1:${brokerPort}`;
    const gatewayPort = await freeUdpPort();
    gateway = await startGatewayProcess(gatewayPort, url);

    // A persistent MQTT session: what the broker accepted while the subscriber was away is kept for it.
    const received = new Set<number>();
    subscriber = await mqtt.connectAsync(url, { clientId: `restarts-sub-${prefix.slice(-8)}`, clean: false, reconnectPeriod: 100 });
    subscriber.on('message', (topic, payload) => {
      if (topic === `${prefix}/out`) received.add(Number(payload.toString()));
    });
    await subscriber.subscribeAsync(`${prefix}/out`, { qos: 1 });

    program = new Program({ GATEWAY_PORT: String(gatewayPort), TOPIC_PREFIX: prefix, CLIENT_ID: `restarts-${prefix.slice(-8)}`, PUBLISH_EVERY_MS: '100' });
    await program.next((r) => r.e === 'subscribed', 'subscribed');
    await program.next((r) => r.e === 'acked' && (r.n as number) >= 3, 'three acknowledged publishes');

    // The gateway process dies and a new one starts on the same port.
    await killGateway(gateway);
    let mark = program.reports.length;
    await program.next((r) => r.e === 'offline', 'offline after the gateway was killed', 15000, mark);
    gateway = await startGatewayProcess(gatewayPort, url);
    await program.next((r) => r.e === 'connect' && r.reconnected === true, 'a restored session on the new gateway', 20000, mark);
    await expectDelivery(program, subscriber, `${prefix}/in`, 'after the gateway restart');

    // The broker stops (SIGTERM) and starts again on the same port.
    mark = program.reports.length;
    await broker?.stop();
    broker = undefined;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    broker = await startPrivateMosquitto(brokerPort, persistence);
    await until(() => subscriber?.connected === true, 'the MQTT subscriber to reconnect', 15000);
    await expectDelivery(program, subscriber, `${prefix}/in`, 'after the broker restart', mark);

    const counts = await stopAndCount(program, received);
    // The gateway restart needs a new session; across the broker restart the gateway keeps it.
    assert.ok(counts.reconnects >= 1, `reconnected after the gateway restart (${counts.reconnects})`);
  });

  it('with a small hold bound, the publishes beyond it during an outage reject with 715; the rest arrive', async () => {
    const prefix = `restarts/${Math.random().toString(16).slice(2, 10)}`;
    const url = `mqtt://127.0.0.1:${brokerPort}`;
    await killGateway(gateway);
    const gatewayPort = await freeUdpPort();
    gateway = await startGatewayProcess(gatewayPort, url);
    const received = new Set<number>();
    await subscriber?.endAsync(true);
    subscriber = await mqtt.connectAsync(url, { clientId: `restarts-sub-${prefix.slice(-8)}`, reconnectPeriod: 100 });
    subscriber.on('message', (topic, payload) => {
      if (topic === `${prefix}/out`) received.add(Number(payload.toString()));
    });
    await subscriber.subscribeAsync(`${prefix}/out`, { qos: 1 });
    program?.kill();
    program = new Program({ GATEWAY_PORT: String(gatewayPort), TOPIC_PREFIX: prefix, CLIENT_ID: `bounded-${prefix.slice(-8)}`, PUBLISH_EVERY_MS: '50', HOLD_COUNT: '3' });
    await program.next((r) => r.e === 'acked', 'an acknowledged publish');
    await killGateway(gateway);
    const mark = program.reports.length;
    await program.next((r) => r.e === 'rejected', 'a publish rejected beyond the hold bound', 15000, mark);
    gateway = await startGatewayProcess(gatewayPort, url);
    await program.next((r) => r.e === 'connect' && r.reconnected === true, 'a restored session on the new gateway', 20000, mark);
    const counts = await stopAndCount(program, received);
    assert.ok(counts.rejected > 0 && counts.codes.every((code) => code === 715), `rejected with 715: ${counts.codes.join(', ')}`);
  });
});

/** Stops the program's publishing, lets every publish settle, and checks that none is unaccounted for. */
async function stopAndCount(program: Program, received: Set<number>): Promise<{ rejected: number; codes: unknown[]; reconnects: number }> {
  const mark = program.reports.length;
  program.stop();
  const done = await program.next((r) => r.e === 'done', 'done', 30000, mark);
  assert.equal(await program.exited, 0);
  const sent = done.sent as number;
  const acked = new Set(program.reports.filter((r) => r.e === 'acked').map((r) => r.n as number));
  const rejected = program.reports.filter((r) => r.e === 'rejected');
  const codes = [...new Set(rejected.map((r) => r.code))];
  await until(() => [...acked].every((n) => received.has(n)), 'every acknowledged publish at the MQTT subscriber', 15000).catch(() => undefined);
  const lostAfterAck = [...acked].filter((n) => !received.has(n));
  const unaccounted: number[] = [];
  for (let n = 1; n <= sent; n++) if (!received.has(n) && !rejected.some((r) => r.n === n)) unaccounted.push(n);
  const reconnects = program.reports.filter((r) => r.e === 'connect' && r.reconnected).length;
  console.log(
    `      published ${sent}: acknowledged ${acked.size}, delivered ${received.size}, rejected ${rejected.length} ` +
      `(codes ${codes.join(', ') || 'none'}), reconnects ${reconnects}`,
  );
  assert.ok(sent > 20, `the program kept publishing (${sent})`);
  assert.deepEqual(lostAfterAck, [], 'acknowledged publishes that never reached the subscriber');
  assert.deepEqual(unaccounted, [], 'publishes neither delivered nor rejected');
  for (const r of rejected) assert.equal(typeof r.code, 'number', `publish ${String(r.n)} rejected without a code`);
  assert.equal(acked.size + rejected.length, sent, 'every publish settled once');
  return { rejected: rejected.length, codes, reconnects };
}

/** Publishes to the program's subscription until it reports the message (the resubscription may still be on its way). */
async function expectDelivery(program: Program, subscriber: mqtt.MqttClient | undefined, topic: string, label: string, from = 0): Promise<void> {
  const payload = `${label} ${Date.now()}`;
  const end = Date.now() + 20000;
  for (;;) {
    if (subscriber?.connected) await subscriber.publishAsync(topic, payload, { qos: 1 }).catch(() => undefined);
    const found = program.reports.slice(from).some((r) => r.e === 'message' && r.payload === payload);
    if (found) return;
    if (Date.now() > end) await program.next((r) => r.e === 'message' && r.payload === payload, `the message ${label}`, 0, from);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

