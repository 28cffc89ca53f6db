/**
 * Native timer queue: a thin wrapper over the addon's TimerQueue class
 * (native/timers.cc), with the same behaviour as the TypeScript twin.
 *
 * Arguments are checked here with the shared checks, so errors are the same
 * MqttSnError whichever queue is in use, and the addon only sees valid input.
 * To keep boundary crossings rare, the addon mirrors the earliest deadline and
 * the size into a shared Float64Array (reading them costs no native call), and
 * expire() writes due ids into a reused Uint32Array and returns their count.
 */
import { loadAddon } from '../native';
import { TIMER_STATE_SLOT_COUNT, TimerStateSlot } from '../twin-contract';
import { checkDeadline, checkNow, checkTimerId } from './arguments';
import type { TimerQueue, TimerQueueImplementation } from './types';

/** The addon's TimerQueue instance, as seen from JavaScript. */
interface NativeQueueHandle {
  schedule(id: number, deadline: number): void;
  cancel(id: number): boolean;
  has(id: number): boolean;
  /** Writes up to `out.length` due ids into `out`, earliest first; returns how many. */
  expire(now: number): number;
  clear(): void;
}

/** Constructor exported by the addon: `new TimerQueue(state, out)`. */
export type NativeTimerQueueConstructor = new (state: Float64Array, out: Uint32Array) => NativeQueueHandle;

/** Ids returned per native expire() call; more due timers take more calls. */
const EXPIRE_BATCH = 1024;
/** Slots of the shared state array (lib/twin-contract.ts). */
const NEXT_DEADLINE = TimerStateSlot.NEXT_DEADLINE;
const SIZE = TimerStateSlot.SIZE;

export class NativeTimerQueue implements TimerQueue {
  /** [earliest deadline (Infinity when empty), size], kept current by the addon. */
  private readonly state = new Float64Array(new ArrayBuffer(TIMER_STATE_SLOT_COUNT * Float64Array.BYTES_PER_ELEMENT));
  private readonly out = new Uint32Array(new ArrayBuffer(EXPIRE_BATCH * Uint32Array.BYTES_PER_ELEMENT));
  private readonly handle: NativeQueueHandle;

  constructor(Native: NativeTimerQueueConstructor) {
    this.handle = new Native(this.state, this.out);
  }

  get size(): number {
    return this.state[SIZE];
  }

  schedule(id: number, deadline: number): void {
    checkTimerId(id);
    checkDeadline(deadline);
    this.handle.schedule(id, deadline);
  }

  cancel(id: number): boolean {
    checkTimerId(id);
    return this.handle.cancel(id);
  }

  has(id: number): boolean {
    checkTimerId(id);
    return this.handle.has(id);
  }

  nextDeadline(): number {
    return this.state[NEXT_DEADLINE];
  }

  expire(now: number): number[] {
    checkNow(now);
    // Nothing due: answer without crossing into the addon.
    if (now < this.state[NEXT_DEADLINE]) return [];
    const due: number[] = [];
    const out = this.out;
    let count: number;
    do {
      count = this.handle.expire(now);
      for (let i = 0; i < count; i++) due.push(out[i]);
    } while (count === out.length);
    return due;
  }

  clear(): void {
    this.handle.clear();
  }
}

/**
 * Whether `candidate` is a TimerQueue constructor that behaves: an addon built
 * from an older source tree may export a placeholder instead.
 */
function works(candidate: unknown): candidate is NativeTimerQueueConstructor {
  if (typeof candidate !== 'function') return false;
  try {
    const queue = new NativeTimerQueue(candidate as NativeTimerQueueConstructor);
    queue.schedule(2, 20);
    queue.schedule(1, 10);
    const scheduled: number = queue.size;
    const first = queue.nextDeadline();
    const due = queue.expire(20).join();
    return scheduled === 2 && first === 10 && due === '1,2' && queue.size === 0;
  } catch {
    return false;
  }
}

/** Builds the native implementation from an addon's TimerQueue export, or null if unusable. */
export function createNativeTimers(candidate: unknown): TimerQueueImplementation | null {
  if (!works(candidate)) return null;
  const Native = candidate;
  return { name: 'native', create: () => new NativeTimerQueue(Native) };
}

/**
 * The addon's TimerQueue export whatever MQTTSN_NATIVE says (tests and
 * benchmarks compare both queues in one process), or undefined without addon.
 */
export function loadNativeTimerConstructor(): unknown {
  return loadAddon().addon?.TimerQueue;
}

/** The native implementation whatever MQTTSN_NATIVE says (tests, benchmarks), or null without a working addon. */
export function loadNativeTimers(): TimerQueueImplementation | null {
  return createNativeTimers(loadNativeTimerConstructor());
}
