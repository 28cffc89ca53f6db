/**
 * Retransmission timer book-keeping. MQTTSN_NATIVE=1 selects the native queue
 * (and fails loudly without it), MQTTSN_NATIVE=0 the TypeScript one. Unset, the
 * TypeScript queue is used: measured with `npm run bench -- timers`, a native
 * call costs about as much as the whole operation in JavaScript, so the
 * TypeScript queue is as fast or faster (docs/benchmarks.md). Both behave
 * identically.
 */
import { loadNative, nativeMode } from '../native';
import { createNativeTimers, loadNativeTimerConstructor } from './native-timers';
import { tsTimers } from './ts-timers';
import type { TimerQueue, TimerQueueImplementation } from './types';

/** The native implementation when the addon provides a working one (whatever MQTTSN_NATIVE says), else null. */
export const nativeTimers: TimerQueueImplementation | null = createNativeTimers(loadNativeTimerConstructor());

function chooseImplementation(): TimerQueueImplementation {
  // Unset or 0: the TypeScript queue (see the measurements above).
  if (nativeMode() !== 'force') return tsTimers;
  loadNative(); // throws when the addon is missing
  if (!nativeTimers) throw new Error('MQTTSN_NATIVE=1 but the native addon has no working TimerQueue: rebuild it.');
  return nativeTimers;
}

/** The implementation in use. */
const active: TimerQueueImplementation = chooseImplementation();

/** 'native' or 'ts'. */
export const timerImplementation: 'native' | 'ts' = active.name;

/** A new, empty timer queue of the implementation in use. */
export function createTimerQueue(): TimerQueue {
  return active.create();
}

export { tsTimers };
export { TsTimerQueue } from './ts-timers';
export { NativeTimerQueue } from './native-timers';
export { checkDeadline, checkNow, checkTimerId, MAX_TIMER_ID } from './arguments';
export type { TimerQueue, TimerQueueImplementation } from './types';
