/**
 * The gateway under load, in each mode, with its embedded broker:
 * - concurrent clients: MQTT-SN clients (one UDP socket each) CONNECT and
 *   stay connected until a cap or a time limit; how many the gateway holds and
 *   what each costs in memory;
 * - messages per second, MQTT-SN client → gateway → broker → MQTT subscriber,
 *   at QoS 0 (bounded by a window of unconfirmed messages) and QoS 1 (each
 *   client keeps `maxInFlight` PUBLISHes waiting for PUBACK).
 *
 * The MQTT-SN clients run in a worker thread, as a separate device would; the
 * gateway, the broker and the MQTT subscriber share the main thread.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import * as mqtt from 'mqtt';
import { MqttSnGateway, type GatewayMode } from '../lib/gateway';
import { formatCount, type BenchOptions, type BenchSection } from './harness';

const CODEC = path.resolve(__dirname, '../lib/codec/index.js');
const MAX_IN_FLIGHT = 10;
/** A load client sends CONNECT and REGISTER this many times, waiting this long for each answer. */
const SETUP_TRIES = 3;
const SETUP_REPLY_MS = 500;
/** What a worker may take beyond its own time limits before it is stopped. */
const WORKER_GRACE_MS = 5000;

/** A full garbage collection, so that memory figures compare live objects. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
}

/** The load generator (plain JavaScript: it runs in a worker from source text). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { encode, decode } = require(workerData.codec);
const { port, task, setupTries, setupReplyMs } = workerData;
const sockets = [];

function open(onPacket) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (d) => { try { onPacket(decode(d), socket); } catch {} });
    socket.on('error', () => undefined);
    socket.bind(0, '127.0.0.1', () => { sockets.push(socket); resolve(socket); });
  });
}
const send = (socket, packet) => socket.send(encode(packet), port, '127.0.0.1');

async function connectMany() {
  const until = performance.now() + task.timeLimitMs;
  let connected = 0, refused = 0, next = 0;
  const started = performance.now();
  async function one(i) {
    await new Promise(async (resolve) => {
      const timer = setTimeout(resolve, 5000);
      const socket = await open((p) => {
        if (p.type !== 'CONNACK') return;
        clearTimeout(timer);
        if (p.returnCode === 0) connected++; else refused++;
        resolve();
      });
      send(socket, { type: 'CONNECT', will: false, cleanSession: true, duration: 3600, clientId: 'bench-' + i });
    });
  }
  async function lane() {
    while (next < task.clients && performance.now() < until) await one(next++);
  }
  await Promise.all(Array.from({ length: task.parallel }, lane));
  return { connected, refused, ms: performance.now() - started };
}

/** One load client: CONNECT and REGISTER, each sent again when its answer is lost; null when it never came. */
async function setUp(c) {
  const client = { socket: null, topicId: 0, inFlight: 0, msgId: 0, waiters: new Map() };
  client.socket = await open((p) => {
    const w = client.waiters.get(p.type);
    if (w) { client.waiters.delete(p.type); w(p); return; }
    if (p.type === 'PUBACK') { acked++; client.inFlight--; pump(); }
  });
  const askOnce = (packet, type) => new Promise((resolve) => {
    const timer = setTimeout(() => { client.waiters.delete(type); resolve(null); }, setupReplyMs);
    client.waiters.set(type, (p) => { clearTimeout(timer); resolve(p); });
    send(client.socket, packet);
  });
  const ask = async (packet, type) => {
    for (let attempt = 0; attempt < setupTries; attempt++) {
      const answer = await askOnce(packet, type);
      if (answer) return answer;
    }
    return null;
  };
  const connack = await ask({ type: 'CONNECT', will: false, cleanSession: true, duration: 600, clientId: 'load-' + task.qos + '-' + c }, 'CONNACK');
  if (!connack || connack.returnCode !== 0) return null;
  const regack = await ask({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: task.topic }, 'REGACK');
  if (!regack || regack.returnCode !== 0) return null;
  client.topicId = regack.topicId;
  return client;
}

let acked = 0, sent = 0, confirmed = 0, pump = () => undefined;

async function publishLoad() {
  parentPort.on('message', (m) => { if (m.received !== undefined) { confirmed = m.received; pump(); } });
  const ready = await Promise.all(Array.from({ length: task.clients }, (_, c) => setUp(c)));
  const clients = ready.filter((client) => client !== null);
  const failed = task.clients - clients.length;
  if (clients.length === 0) return { sent: 0, acked: 0, clients: 0, failed, ms: 0 };
  const payload = Buffer.alloc(task.payloadSize, 0x61);
  let stopped = false;
  let scheduled = false;
  pump = () => {
    if (stopped) return;
    if (task.qos === 0) {
      // A window of messages the subscriber has not seen yet keeps the socket buffers from overflowing.
      let budget = Math.min(200, task.window - (sent - confirmed));
      while (budget-- > 0) {
        const client = clients[sent % clients.length];
        send(client.socket, { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 0, topicId: client.topicId, msgId: 0, payload });
        sent++;
      }
      if (!scheduled && sent - confirmed < task.window) { scheduled = true; setImmediate(() => { scheduled = false; pump(); }); }
      return;
    }
    for (const client of clients) {
      while (client.inFlight < task.maxInFlight) {
        client.msgId = client.msgId >= 65535 ? 1 : client.msgId + 1;
        client.inFlight++;
        sent++;
        send(client.socket, { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 0, topicId: client.topicId, msgId: client.msgId, payload });
      }
    }
  };
  const started = performance.now();
  pump();
  await new Promise((resolve) => setTimeout(resolve, task.durationMs));
  stopped = true;
  return { sent, acked, clients: clients.length, failed, ms: performance.now() - started };
}

parentPort.on('message', async (m) => {
  if (m.close) {
    for (const s of sockets) s.close();
    parentPort.postMessage({ closed: true });
  }
});
(async () => {
  const result = task.kind === 'connect' ? await connectMany() : await publishLoad();
  parentPort.postMessage({ result });
})();
`;

interface WorkerHandle {
  worker: Worker;
  /** The worker's figures; rejects if it fails, exits early or takes longer than `deadlineMs`. */
  result: Promise<Record<string, number>>;
  /** Closes the worker's sockets and ends it, whatever state it is in. */
  close(): Promise<void>;
}

function startWorker(port: number, task: Record<string, unknown>, deadlineMs: number): WorkerHandle {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { port, task, codec: CODEC, setupTries: SETUP_TRIES, setupReplyMs: SETUP_REPLY_MS },
  });
  let deadline: NodeJS.Timeout | undefined;
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    deadline = setTimeout(() => reject(new Error(`load worker gave no result within ${deadlineMs} ms`)), deadlineMs);
    worker.on('message', (m: { result?: Record<string, number> }) => {
      if (m.result) resolve(m.result);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`load worker exited (${code}) without a result`)));
  }).finally(() => clearTimeout(deadline));
  // The caller may stop waiting (close() after a failure): never leave a rejection unhandled.
  result.catch(() => undefined);
  let ended: Promise<void> | undefined;
  return {
    worker,
    result,
    close() {
      ended ??= (async () => {
        // Ask the worker to close its sockets, but do not wait long for an answer that may never come.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          worker.on('message', (m: { closed?: boolean }) => {
            if (m.closed) {
              clearTimeout(timer);
              resolve();
            }
          });
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.postMessage({ close: true });
        });
        await worker.terminate();
      })();
      return ended;
    },
  };
}

async function startGateway(mode: GatewayMode, clients: number): Promise<MqttSnGateway> {
  const gateway = new MqttSnGateway({
    host: '127.0.0.1',
    port: 0,
    mode,
    logLevel: 'error',
    // every benchmark client comes from 127.0.0.1 and connects as fast as it can
    limits: { clients, sessionsPerSource: clients, newSessionsPerSource: 1e6, newSessionsTotal: 1e6, maxInFlight: MAX_IN_FLIGHT, bufferedMessages: 1000 },
  });
  await gateway.start();
  return gateway;
}

interface CapacityFigure {
  mode: GatewayMode;
  held: number;
  connectsPerSecond: number;
  kilobytesPerClient: number;
  limitedBy: string;
}

async function capacity(mode: GatewayMode, cap: number, timeLimitMs: number): Promise<CapacityFigure> {
  const gateway = await startGateway(mode, cap);
  try {
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    // The last CONNECTs started may wait 5 s for their CONNACK.
    const load = startWorker(gateway.address().port, { kind: 'connect', clients: cap, parallel: 64, timeLimitMs }, timeLimitMs + 5000 + WORKER_GRACE_MS);
    let connected: number;
    let ms: number;
    let held: number;
    let grown: number;
    try {
      ({ connected, ms } = await load.result);
      held = gateway.clientCount;
      collectGarbage();
      grown = process.memoryUsage().heapUsed - before;
    } finally {
      await load.close();
    }
    return {
      mode,
      held,
      connectsPerSecond: Math.round((connected * 1000) / ms),
      kilobytesPerClient: held > 0 ? Math.round(grown / held / 1024) : 0,
      limitedBy: connected >= cap ? `the cap of ${formatCount(cap)}` : `the ${(timeLimitMs / 1000).toFixed(1)} s limit`,
    };
  } finally {
    await gateway.stop();
  }
}

interface RateFigure {
  mode: GatewayMode;
  qos: number;
  clients: number;
  /** Clients that got no CONNACK or REGACK after every try: they sent nothing. */
  failed: number;
  perSecond: number;
  lossPercent: number;
}

async function throughput(mode: GatewayMode, qos: 0 | 1, durationMs: number): Promise<RateFigure> {
  const gateway = await startGateway(mode, 100);
  const subscriber = await mqtt.connectAsync(gateway.brokerUrl, { reconnectPeriod: 0 });
  try {
    const topic = `bench/${mode}/qos${qos}`;
    await subscriber.subscribeAsync(topic, { qos });
    let received = 0;
    let first = 0;
    let last = 0;
    const clients = qos === 0 ? 4 : 8;
    const load = startWorker(gateway.address().port, {
      kind: 'publish',
      qos,
      clients,
      topic,
      payloadSize: 32,
      window: 500,
      maxInFlight: MAX_IN_FLIGHT,
      durationMs,
    }, SETUP_TRIES * SETUP_REPLY_MS * 2 + durationMs + WORKER_GRACE_MS);
    subscriber.on('message', () => {
      last = performance.now();
      if (received++ === 0) first = last;
      if (received % 100 === 0) load.worker.postMessage({ received });
    });
    let sent: number;
    let ready: number;
    try {
      ({ sent, clients: ready } = await load.result);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the last messages in transit
    } finally {
      await load.close();
    }
    const seconds = (last - first) / 1000;
    return {
      mode,
      qos,
      clients: ready,
      failed: clients - ready,
      perSecond: seconds > 0 ? Math.round(received / seconds) : 0,
      lossPercent: sent > 0 ? Math.max(0, Math.round(((sent - received) / sent) * 1000) / 10) : 0,
    };
  } finally {
    await subscriber.endAsync();
    await gateway.stop();
  }
}

export async function run(options: BenchOptions = { budgetMs: 30_000 }): Promise<BenchSection[]> {
  // Share the budget: transparent connects are the slowest (an MQTT connection each), so they get the most.
  const slice = Math.max(1500, Math.min(5000, (options.budgetMs - 8000) / 8));
  const capacities = [
    await capacity('transparent', 5000, slice * 2.5),
    await capacity('aggregating', 10000, slice * 1.5),
  ];
  const rates: RateFigure[] = [];
  for (const mode of ['transparent', 'aggregating'] as const) {
    for (const qos of [0, 1] as const) rates.push(await throughput(mode, qos, Math.round(slice * 0.8)));
  }
  return [
    {
      title: 'Gateway: concurrent clients (embedded broker)',
      columns: ['mode', 'clients held', 'CONNECT/s', 'heap per client (KB)', 'stopped by'],
      rows: capacities.map((c) => [c.mode, formatCount(c.held), formatCount(c.connectsPerSecond), c.kilobytesPerClient, c.limitedBy]),
      notes: [
        'Each client is a UDP socket of its own in a worker thread; CONNECTs go 64 at a time and stay connected.',
        'Transparent mode opens one MQTT connection per client to the broker (in the same process); aggregating shares one.',
        'Memory: growth of the main thread JavaScript heap (gateway and broker; the clients live in the worker) after a full collection, per client held.',
      ],
    },
    {
      title: 'Gateway: messages per second, MQTT-SN client → gateway → embedded broker → MQTT subscriber',
      columns: ['mode', 'QoS', 'clients', 'clients failed', 'messages/s', 'lost %'],
      rows: rates.map((r) => [r.mode, r.qos, r.clients, r.failed, formatCount(r.perSecond), r.lossPercent]),
      notes: [
        '32-octet payloads, counted as they reach the MQTT subscriber, first to last.',
        `QoS 0: at most 500 messages the subscriber has not seen yet; QoS 1: each client keeps ${MAX_IN_FLIGHT} PUBLISHes waiting for PUBACK.`,
        `A client sends CONNECT and REGISTER up to ${SETUP_TRIES} times, ${SETUP_REPLY_MS} ms apart; one that never gets an answer counts as failed.`,
        'Everything (clients in a worker, gateway, broker, subscriber) shares one machine.',
      ],
    },
  ];
}

if (require.main === module) {
  void run().then((sections) => console.log(JSON.stringify(sections, null, 2)));
}
