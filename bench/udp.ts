/**
 * The machine's own UDP ceiling on loopback: raw `dgram` sockets on 127.0.0.1
 * with nothing on top. Every other network figure (gateway, client) is read
 * against these.
 *
 * The far end runs in a worker thread, as a peer process would, so sending and
 * receiving do not share one event loop:
 * - one way: the worker floods the main thread's socket with a bounded number
 *   of sends in flight; datagrams received per second (and the loss) are counted;
 * - round trips: the main thread sends one datagram, the worker echoes it, the
 *   next is sent when the echo arrives (strict ping-pong).
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { BenchOptions, BenchSection } from './harness';

export interface OneWayResult {
  size: number;
  sent: number;
  received: number;
  /** Datagrams received per second, between the first and the last arrival. */
  receivedPerSecond: number;
  /** Payload megabytes (10^6) received per second. */
  megabytesPerSecond: number;
  /** Share of sent datagrams that never arrived, in percent. */
  lossPercent: number;
}

export interface RoundTripResult {
  size: number;
  roundTrips: number;
  roundTripsPerSecond: number;
  /** Mean round-trip time in microseconds. */
  meanMicroseconds: number;
}

/** Sends allowed in flight (handed to the kernel but not yet confirmed) by the flooding peer. */
const IN_FLIGHT = 64;

// Worker sources run with `eval: true`, so they are plain CommonJS JavaScript.
const FLOOD_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const { port, size, durationMs, inFlight } = workerData;
const socket = dgram.createSocket('udp4');
const payload = Buffer.alloc(size, 0x5a);
socket.connect(port, '127.0.0.1', () => {
  const until = Date.now() + durationMs;
  let pending = 0;
  let sent = 0;
  let stopping = false;
  const pump = () => {
    while (!stopping && pending < inFlight) {
      pending++;
      sent++;
      socket.send(payload, done);
    }
  };
  const done = () => {
    pending--;
    if (!stopping && Date.now() >= until) stopping = true;
    if (!stopping) pump();
    else if (pending === 0) socket.close(() => parentPort.postMessage({ sent }));
  };
  pump();
});
`;

const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
socket.on('message', (message, rinfo) => socket.send(message, rinfo.port, rinfo.address));
socket.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: socket.address().port }));
`;

function bindLoopback(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** Floods a receiving socket with `size`-byte datagrams for `durationMs`. */
export async function measureOneWay(size: number, durationMs: number): Promise<OneWayResult> {
  const receiver = await bindLoopback();
  let received = 0;
  let first = 0;
  let last = 0;
  receiver.on('message', () => {
    last = performance.now();
    if (received++ === 0) first = last;
  });
  const worker = new Worker(FLOOD_WORKER, {
    eval: true,
    workerData: { port: receiver.address().port, size, durationMs, inFlight: IN_FLIGHT },
  });
  try {
    const { sent } = await firstMessage<{ sent: number }>(worker);
    // Let datagrams still queued in the socket buffer arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seconds = Math.max(last - first, 1) / 1000;
    return {
      size,
      sent,
      received,
      receivedPerSecond: Math.round(received / seconds),
      megabytesPerSecond: Math.round(((received * size) / seconds / 1e6) * 10) / 10,
      lossPercent: sent === 0 ? 0 : Math.round(((sent - received) / sent) * 1000) / 10,
    };
  } finally {
    await worker.terminate();
    await closeSocket(receiver);
  }
}

/** Strict ping-pong of `size`-byte datagrams with an echoing peer for `durationMs`. */
export async function measureRoundTrips(size: number, durationMs: number): Promise<RoundTripResult> {
  const worker = new Worker(ECHO_WORKER, { eval: true });
  const client = await bindLoopback();
  try {
    const { port } = await firstMessage<{ port: number }>(worker);
    const payload = Buffer.alloc(size, 0xa5);
    await new Promise<void>((resolve) => client.connect(port, '127.0.0.1', () => resolve()));
    let roundTrips = 0;
    const start = performance.now();
    const until = start + durationMs;
    let elapsed = 0;
    await new Promise<void>((resolve) => {
      // Loopback rarely drops, but a lost datagram must not stall the run: resend.
      let seen = -1;
      const watchdog = setInterval(() => {
        if (seen === roundTrips) client.send(payload);
        seen = roundTrips;
      }, 250);
      client.on('message', () => {
        roundTrips++;
        const now = performance.now();
        if (now < until) client.send(payload);
        else {
          elapsed = now - start;
          clearInterval(watchdog);
          client.removeAllListeners('message');
          resolve();
        }
      });
      client.send(payload);
    });
    return {
      size,
      roundTrips,
      roundTripsPerSecond: Math.round((roundTrips * 1000) / elapsed),
      meanMicroseconds: Math.round((elapsed * 1000) / roundTrips),
    };
  } finally {
    await worker.terminate();
    await closeSocket(client);
  }
}

/** Payload sizes measured: a tiny MQTT-SN packet and a kilobyte. */
export const UDP_SIZES = [16, 1024];

/** Rounds per figure, keeping the best: other processes on the machine only ever slow a round down. */
const ROUNDS = 3;

export async function run(options?: BenchOptions): Promise<BenchSection[]> {
  const budgetMs = options?.budgetMs ?? 20_000;
  // 2 sizes × 2 kinds × rounds, plus worker start-up and drain time.
  const durationMs = Math.max(300, Math.min(1000, Math.floor(budgetMs / (UDP_SIZES.length * 2 * ROUNDS * 1.4))));
  const oneWay = new Map<number, OneWayResult>();
  const pingPong = new Map<number, RoundTripResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of UDP_SIZES) {
      const flood = await measureOneWay(size, durationMs);
      if (flood.receivedPerSecond > (oneWay.get(size)?.receivedPerSecond ?? -1)) oneWay.set(size, flood);
      const echo = await measureRoundTrips(size, durationMs);
      if (echo.roundTripsPerSecond > (pingPong.get(size)?.roundTripsPerSecond ?? -1)) pingPong.set(size, echo);
    }
  }
  const rounds = `best of ${ROUNDS} rounds of ${durationMs} ms`;
  return [
    {
      title: 'UDP loopback ceiling: one way, raw dgram',
      columns: ['payload B', 'sent', 'received', 'received/s', 'MB/s', 'loss %'],
      rows: [...oneWay.values()].map((r) => [r.size, r.sent, r.received, r.receivedPerSecond, r.megabytesPerSecond, r.lossPercent]),
      notes: [
        `A worker thread sends to 127.0.0.1 with ${IN_FLIGHT} sends in flight; the main thread counts arrivals; ${rounds}.`,
        'Loss is the kernel dropping datagrams the receiver was too slow to read.',
      ],
    },
    {
      title: 'UDP loopback ceiling: request/response, raw dgram',
      columns: ['payload B', 'round trips', 'round trips/s', 'mean RTT µs'],
      rows: [...pingPong.values()].map((r) => [r.size, r.roundTrips, r.roundTripsPerSecond, r.meanMicroseconds]),
      notes: [`Strict ping-pong with an echoing worker thread, one datagram outstanding at a time; ${rounds}.`],
    },
  ];
}
