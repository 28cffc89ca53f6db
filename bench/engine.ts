/**
 * The datagram engines end to end: 50 raw MQTT-SN sensors → gateway → broker
 * → an MQTT subscriber that counts with sequence numbers.
 *
 * - lossless ingest: paced QoS 0 at rising total rates, 3 s each, for the
 *   TypeScript engine (node:dgram), the native batched engine, and the
 *   native engine with two workers; with the embedded broker and mosquitto;
 * - QoS 1 with 1, 10 and 50 sensors, each one PUBLISH in flight;
 * - memory per connected client at 10,000 clients.
 *
 * The gateway and the sensors run in processes of their own (bench/engine-*.ts);
 * the subscriber runs here. Bounded: a configuration stops after two lossy
 * rates in a row, and the whole module keeps to its budget.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import { nativeUdpAvailable } from '../lib/transport/native-udp';
import type { GatewayChildOptions } from './engine-gateway';
import { formatCount, type BenchOptions, type BenchSection } from './harness';

const RATES = [2000, 4000, 8000, 12000, 16000, 24000, 32000, 48000, 64000];
const STEP_MS = 3000;
const SENSORS = 50;
const MEMORY_CLIENTS = 10_000;

type Engine = 'ts' | 'native' | 'native x2';

/** A child process spoken to over IPC. */
class Child {
  private readonly inbox: unknown[] = [];
  private waiter: ((message: unknown) => void) | undefined;

  constructor(readonly process: ChildProcess) {
    process.on('message', (message) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(message);
      } else this.inbox.push(message);
    });
  }

  next<T>(timeoutMs = 60_000): Promise<T> {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift() as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from a benchmark process')), timeoutMs);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`a benchmark process ended (${code})`));
      };
      this.process.once('exit', onExit);
      this.waiter = (message) => {
        clearTimeout(timer);
        this.process.off('exit', onExit);
        resolve(message as T);
      };
    });
  }

  async ask<T>(message: object, timeoutMs?: number): Promise<T> {
    this.process.send(message);
    return this.next<T>(timeoutMs);
  }

  async end(goodbye: object): Promise<void> {
    if (this.process.exitCode !== null || !this.process.connected) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    try {
      await this.ask(goodbye, 5000);
    } catch {
      // it may already be gone
    }
    const timer = setTimeout(() => this.process.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}

function startChild(file: string, args: string[] = [], execArgv: string[] = []): Child {
  return new Child(fork(path.join(__dirname, file), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv }));
}

interface Gateway {
  child: Child;
  port: number;
  brokerUrl: string;
}

async function startGateway(options: GatewayChildOptions & { workers: number }): Promise<Gateway> {
  const child = startChild('engine-gateway.js', [JSON.stringify(options)], ['--max-old-space-size=2048']);
  const answer = await child.next<{ ready?: boolean; port: number; brokerUrl: string; error?: string }>();
  if (!answer.ready) throw new Error(`gateway did not start: ${answer.error ?? 'unknown'}`);
  return { child, port: answer.port, brokerUrl: answer.brokerUrl };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Our own mosquitto on a free loopback port, when the binary is installed. */
async function startMosquitto(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const binary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => fs.existsSync(p));
  if (!binary) return undefined;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`);
  const proc = spawn(binary, ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async stop() {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill();
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counts what reaches the broker's subscriber, with sequence numbers per sensor. */
class Counter {
  received = 0;
  outOfOrder = 0;
  lastAt = 0;
  private readonly last = new Map<number, number>();

  onMessage = (_topic: string, payload: Buffer): void => {
    this.received++;
    this.lastAt = performance.now();
    if (payload.length < 8) return;
    const sensor = payload.readUInt32BE(0);
    const seq = payload.readUInt32BE(4);
    const previous = this.last.get(sensor);
    if (previous !== undefined && seq <= previous) this.outOfOrder++;
    this.last.set(sensor, seq);
  };

  /** Resolves once nothing new arrived for `quietMs` (or after `maxMs`). */
  async settle(quietMs = 400, maxMs = 4000): Promise<void> {
    const end = performance.now() + maxMs;
    while (performance.now() < end) {
      const idleFor = performance.now() - this.lastAt;
      if (idleFor >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface IngestRow {
  engine: Engine;
  broker: string;
  perRate: Array<{ rate: number; sent: number; delivered: number }>;
  outOfOrder: number;
  note?: string;
}

async function ingest(engine: Engine, brokerName: string, brokerUrl: string | undefined, deadline: number): Promise<IngestRow> {
  const row: IngestRow = { engine, broker: brokerName, perRate: [], outOfOrder: 0 };
  const gateway = await startGateway({
    mode: 'transparent',
    engine: engine === 'ts' ? 'ts' : 'native',
    workers: engine === 'native x2' ? 2 : 1,
    clients: 1000,
    ...(brokerUrl ? { broker: brokerUrl } : {}),
  });
  const sensors = startChild('engine-sensors.js');
  const counter = new Counter();
  const subscriber = await mqtt.connectAsync(brokerUrl ?? gateway.brokerUrl, { reconnectPeriod: 0 });
  try {
    const prefix = `${engine.replace(' ', '')}-${brokerName}-`;
    await subscriber.subscribeAsync(`bench/${prefix}/+`, { qos: 0 });
    subscriber.on('message', counter.onMessage);
    const { ready } = await sensors.ask<{ ready: number }>({ cmd: 'setup', port: gateway.port, sensors: SENSORS, prefix });
    if (ready < SENSORS) row.note = `${ready} of ${SENSORS} sensors connected`;
    let lossyInARow = 0;
    for (const rate of RATES) {
      if (performance.now() + STEP_MS + 2000 > deadline) {
        row.note = `stopped at ${formatCount(rate)} msg/s: the module's time budget`;
        break;
      }
      const before = counter.received;
      const { sent } = await sensors.ask<{ sent: number }>({ cmd: 'ingest', rate, ms: STEP_MS });
      await counter.settle();
      const delivered = counter.received - before;
      row.perRate.push({ rate, sent, delivered });
      lossyInARow = delivered < sent ? lossyInARow + 1 : 0;
      if (lossyInARow === 2) break;
    }
    row.outOfOrder = counter.outOfOrder;
  } finally {
    await subscriber.endAsync(true);
    await sensors.end({ cmd: 'close' });
    await gateway.child.end({ cmd: 'stop' });
  }
  return row;
}

interface Qos1Row {
  engine: Engine;
  sensors: number;
  perSecond: number;
}

async function qos1(engine: Engine, brokerUrl: string | undefined, counts: number[]): Promise<Qos1Row[]> {
  const gateway = await startGateway({ mode: 'transparent', engine: engine === 'ts' ? 'ts' : 'native', workers: 1, clients: 1000, ...(brokerUrl ? { broker: brokerUrl } : {}) });
  const sensors = startChild('engine-sensors.js');
  const rows: Qos1Row[] = [];
  try {
    await sensors.ask({ cmd: 'setup', port: gateway.port, sensors: Math.max(...counts), prefix: `q1${engine.replace(' ', '')}-` });
    for (const count of counts) {
      const { acked, ms } = await sensors.ask<{ acked: number; ms: number }>({ cmd: 'qos1', sensors: count, ms: 2000 });
      rows.push({ engine, sensors: count, perSecond: Math.round((acked * 1000) / ms) });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the last PUBACKs
    }
  } finally {
    await sensors.end({ cmd: 'close' });
    await gateway.child.end({ cmd: 'stop' });
  }
  return rows;
}

interface MemoryRow {
  mode: string;
  engine: string;
  connected: number;
  rssPerClient: number;
  heapPerClient: number;
  descriptorsPerClient: number;
}

async function memory(mode: 'aggregating' | 'transparent', engine: 'ts' | 'native'): Promise<MemoryRow> {
  const gateway = await startGateway({ mode, engine, workers: 1, clients: MEMORY_CLIENTS + 100 });
  const sensors = startChild('engine-sensors.js', [], ['--max-old-space-size=4096']);
  try {
    type Usage = { rss: number; heapUsed: number; clients: number; descriptors: number };
    const before = await gateway.child.ask<Usage>({ cmd: 'memory' });
    const { connected } = await sensors.ask<{ connected: number }>({ cmd: 'connect', port: gateway.port, count: MEMORY_CLIENTS, parallel: 64 }, 120_000);
    const after = await gateway.child.ask<Usage>({ cmd: 'memory' });
    const held = Math.max(1, after.clients);
    return {
      mode,
      engine,
      connected,
      rssPerClient: (after.rss - before.rss) / held / 1024,
      heapPerClient: (after.heapUsed - before.heapUsed) / held / 1024,
      descriptorsPerClient: (after.descriptors - before.descriptors) / held,
    };
  } finally {
    await sensors.end({ cmd: 'close' });
    await gateway.child.end({ cmd: 'stop' });
  }
}

function highestLossless(row: IngestRow): string {
  let best = 0;
  for (const step of row.perRate) {
    if (step.delivered < step.sent) break;
    best = step.rate;
  }
  return best > 0 ? formatCount(best) : 'none';
}

export async function run(options: BenchOptions = { budgetMs: 270_000 }): Promise<BenchSection[]> {
  const start = performance.now();
  const deadline = start + options.budgetMs;
  const native = nativeUdpAvailable();
  const engines: Engine[] = native ? ['ts', 'native', 'native x2'] : ['ts'];
  const mosquitto = await startMosquitto();
  const brokers: Array<[string, string | undefined]> = [['embedded', undefined]];
  if (mosquitto) brokers.push(['mosquitto', mosquitto.url]);
  const ingestRows: IngestRow[] = [];
  const qos1Rows: Qos1Row[] = [];
  const memoryRows: MemoryRow[] = [];
  const notes: string[] = [];
  try {
    // Memory and QoS 1 first: they are short; ingest takes what is left of the budget.
    memoryRows.push(await memory('aggregating', native ? 'native' : 'ts'));
    memoryRows.push(await memory('transparent', native ? 'native' : 'ts'));
    for (const engine of engines.filter((e) => e !== 'native x2')) {
      qos1Rows.push(...(await qos1(engine, mosquitto?.url, [1, 10, 50])));
    }
    // Per broker, each engine in turn; a late configuration is left out rather than the budget overrun.
    const ingestBudget = (deadline - performance.now()) / (engines.length * brokers.length);
    for (const [name, url] of brokers) {
      for (const engine of engines) {
        const own = Math.min(deadline, performance.now() + ingestBudget);
        if (own - performance.now() < 8000) {
          notes.push(`ingest ${engine} with ${name}: left out, the module's time budget ran out`);
          continue;
        }
        try {
          ingestRows.push(await ingest(engine, name, url, own));
        } catch (error) {
          notes.push(`ingest ${engine} with ${name}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    await mosquitto?.stop();
  }
  if (!mosquitto) notes.push('mosquitto is not installed here: the mosquitto rows are missing.');
  if (!native) notes.push('the native addon (batched UDP engine) is not available here: TypeScript engine only.');
  return [
    {
      title: `Engines: lossless QoS 0 ingest, ${SENSORS} sensors → gateway (transparent) → broker → subscriber`,
      columns: ['engine', 'broker', 'highest lossless msg/s', ...RATES.map((r) => `${r / 1000}k delivered/sent`), 'out of order', 'note'],
      rows: ingestRows.map((row) => [
        row.engine,
        row.broker,
        highestLossless(row),
        ...RATES.map((rate) => {
          const step = row.perRate.find((s) => s.rate === rate);
          return step ? `${formatCount(step.delivered)}/${formatCount(step.sent)}` : '';
        }),
        row.outOfOrder,
        row.note ?? '',
      ]),
      notes: [
        `Each sensor is a raw MQTT-SN client with its own UDP socket (in one process, sending through the native engine where available), CONNECTed and REGISTERed; they send paced QoS 0 PUBLISHes round robin at the total rate, ${STEP_MS / 1000} s per rate.`,
        'Delivered: what an MQTT subscriber (QoS 0, in the benchmark process) counted after the step, waiting until nothing more came. A configuration stops after two lossy rates in a row.',
        "engine: ts = node:dgram transport, native = the batched engine (recvmmsg/sendmmsg), native x2 = two gateway processes sharing the port (--workers 2).",
        ...notes,
      ],
    },
    {
      title: 'Engines: QoS 1, each sensor one PUBLISH in flight, acknowledged msg/s (transparent)',
      columns: ['engine', 'sensors', 'acknowledged msg/s'],
      rows: qos1Rows.map((r) => [r.engine, r.sensors, formatCount(r.perSecond)]),
      notes: [`Broker: ${mosquitto ? 'mosquitto' : 'the embedded broker'}; 2 s per row; PUBACK comes after the broker acknowledged the PUBLISH.`],
    },
    {
      title: `Engines: memory per connected client at ${formatCount(MEMORY_CLIENTS)} clients (embedded broker)`,
      columns: ['mode', 'engine', 'clients connected', 'RSS per client (KB)', 'heap per client (KB)', 'descriptors per client'],
      rows: memoryRows.map((r) => [r.mode, r.engine, formatCount(r.connected), r.rssPerClient.toFixed(1), r.heapPerClient.toFixed(1), r.descriptorsPerClient.toFixed(2)]),
      notes: ['Growth of the gateway process (gateway and embedded broker) after a full collection, divided by the clients it holds.'],
    },
  ];
}

if (require.main === module) {
  void run().then((sections) => console.log(JSON.stringify(sections, null, 2)));
}
