/**
 * Retransmission timer book-keeping: the TypeScript and native queues against
 * what a user would write without them, one Node timer per packet.
 *
 * Every figure is a steady state with 1k, 10k or 100k timers outstanding:
 * - schedule + cancel: a packet is acknowledged (its timer cancelled) and a new
 *   one sent (a timer scheduled), acknowledgements in sending order;
 * - schedule + expire: time advances one tick per packet sent and due timers
 *   are collected every tick or every 64 ticks, as a client that wakes once
 *   for several due retransmissions does.
 */
import { performance } from 'node:perf_hooks';
import type { TimerQueueImplementation } from '../lib/timers';
import { loadNativeTimers } from '../lib/timers/native-timers';
import { tsTimers } from '../lib/timers/ts-timers';
import { opsPerSecond } from './harness';
import type { BenchOptions, BenchSection } from './harness';

const SIZES = [1_000, 10_000, 100_000];
/** Retransmission delay: long enough that no real timer fires during a measurement. */
const RETRY_MS = 60_000;
/** Operations per call of the measured function, so reading the clock stays cheap. */
const BATCH = 256;

const noop = (): void => undefined;

/** schedule + cancel pairs per second on a queue holding `outstanding` timers. */
function queueScheduleCancel(impl: TimerQueueImplementation, outstanding: number, minMs: number): number {
  const queue = impl.create();
  let now = 0;
  for (let id = 0; id < outstanding; id++) queue.schedule(id, (now += 0.01) + RETRY_MS);
  let oldest = 0;
  const rate = opsPerSecond(
    () => {
      for (let i = 0; i < BATCH; i++) {
        queue.cancel(oldest);
        queue.schedule(oldest, (now += 0.01) + RETRY_MS);
        if (++oldest === outstanding) oldest = 0;
      }
    },
    minMs,
    BATCH,
  );
  queue.clear();
  return rate;
}

/** clearTimeout + setTimeout pairs per second with `outstanding` real Node timers. */
function nodeTimersScheduleCancel(outstanding: number, minMs: number): number {
  const handles: NodeJS.Timeout[] = [];
  for (let i = 0; i < outstanding; i++) handles.push(setTimeout(noop, RETRY_MS));
  let oldest = 0;
  try {
    return opsPerSecond(
      () => {
        for (let i = 0; i < BATCH; i++) {
          clearTimeout(handles[oldest]);
          handles[oldest] = setTimeout(noop, RETRY_MS);
          if (++oldest === outstanding) oldest = 0;
        }
      },
      minMs,
      BATCH,
    );
  } finally {
    for (const handle of handles) clearTimeout(handle);
  }
}

/** Timers scheduled and expired per second, collecting due ids every `every` ticks. */
function queueScheduleExpire(impl: TimerQueueImplementation, outstanding: number, every: number, minMs: number): number {
  const queue = impl.create();
  let tick = 0;
  let id = 0;
  for (; id < outstanding; id++) queue.schedule(id, id + 1);
  let expired = 0;
  const rate = opsPerSecond(
    () => {
      for (let i = 0; i < BATCH; i++) {
        tick++;
        queue.schedule(id++ >>> 0, tick + outstanding);
        if (tick % every === 0) expired += queue.expire(tick).length;
      }
    },
    minMs,
    BATCH,
  );
  queue.clear();
  if (expired === 0) throw new Error('schedule + expire benchmark expired nothing');
  return rate;
}

/**
 * Real Node timers created and fired per second (1 ms timeouts, in rounds),
 * next to `outstanding` long ones: the event loop does the expiring.
 */
async function nodeTimersScheduleFire(outstanding: number, minMs: number): Promise<number> {
  const background: NodeJS.Timeout[] = [];
  for (let i = 0; i < outstanding; i++) background.push(setTimeout(noop, RETRY_MS));
  const round = 20_000;
  let fired = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < minMs) {
      await new Promise<void>((resolve) => {
        let left = round;
        const onFire = (): void => {
          fired++;
          if (--left === 0) resolve();
        };
        for (let i = 0; i < round; i++) setTimeout(onFire, 1);
      });
    }
    return Math.round((fired * 1000) / (performance.now() - start));
  } finally {
    for (const handle of background) clearTimeout(handle);
  }
}

/** Interleaved rounds per figure, keeping the best: other processes on the machine only ever slow a round down. */
const ROUNDS = 3;

export async function run(options?: BenchOptions): Promise<BenchSection[]> {
  const budgetMs = options?.budgetMs ?? 25_000;
  const nativeTimers = loadNativeTimers();
  const implementations = nativeTimers ? [tsTimers, nativeTimers] : [tsTimers];
  // 3 sizes × rounds × (schedule+cancel: queues + Node; schedule+expire: queues × 2 + Node),
  // each measurement about twice its measuring time once warm-up and filling count.
  const measurements = SIZES.length * ROUNDS * (implementations.length * 3 + 2);
  const minMs = Math.max(50, Math.min(300, Math.floor(budgetMs / (measurements * 2.2))));
  const names = implementations.map((impl) => impl.name);

  const cancelRows: number[][] = [];
  const expireRows: number[][] = [];
  const best = (row: number[], values: number[]): number[] => row.map((value, i) => Math.max(value, values[i]));
  for (const size of SIZES) {
    let cancelRow = new Array<number>(implementations.length + 1).fill(0);
    let expireRow = new Array<number>(implementations.length * 2 + 1).fill(0);
    for (let round = 0; round < ROUNDS; round++) {
      const queues = implementations.map((impl) => queueScheduleCancel(impl, size, minMs));
      cancelRow = best(cancelRow, [...queues, nodeTimersScheduleCancel(size, minMs)]);
      const everyTick = implementations.map((impl) => queueScheduleExpire(impl, size, 1, minMs));
      const every64 = implementations.map((impl) => queueScheduleExpire(impl, size, 64, minMs));
      expireRow = best(expireRow, [...everyTick, ...every64, await nodeTimersScheduleFire(size, minMs)]);
    }
    cancelRows.push([size, ...cancelRow]);
    expireRows.push([size, ...expireRow]);
  }

  const missing = nativeTimers ? [] : ['The native addon is not built: TypeScript queue only.'];
  return [
    {
      title: 'Timers: schedule + cancel (a packet acknowledged, the next one sent), pairs/s',
      columns: ['outstanding', ...names, 'setTimeout+clearTimeout'],
      rows: cancelRows,
      notes: [
        `Steady state: cancel the oldest timer, schedule a new one ${RETRY_MS / 1000} s ahead.`,
        'setTimeout+clearTimeout: one real Node timer per packet, what a client without a queue would do.',
        `Best of ${ROUNDS} interleaved rounds of ${minMs} ms per figure.`,
        ...missing,
      ],
    },
    {
      title: 'Timers: schedule + expire (retransmissions falling due), timers/s',
      columns: ['outstanding', ...names.map((n) => `${n} (every tick)`), ...names.map((n) => `${n} (every 64)`), 'setTimeout fired'],
      rows: expireRows,
      notes: [
        'Fake clock: one timer scheduled per tick, due ids collected every tick or every 64 ticks.',
        'setTimeout fired: real 1 ms Node timers created and fired by the event loop, in rounds of 20,000.',
        ...missing,
      ],
    },
  ];
}
