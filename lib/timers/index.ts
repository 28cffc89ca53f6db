/**
 * Retransmission timer book-keeping. The queue implementation is chosen on
 * first use by the rule every twin follows (lib/native.ts twinAddon):
 * MQTTSN_NATIVE=1 the native queue (a missing addon is a loud error), 0 or
 * unset the TypeScript one, without loading the addon. Measured with
 * `npm run bench -- timers`, a native call costs about as much as the whole
 * operation in JavaScript, so the TypeScript queue is as fast or faster
 * (docs/benchmarks.md). Both behave identically.
 */
import { twinAddon } from '../native';
import { createNativeTimers } from './native-timers';
import { tsTimers } from './ts-timers';
import type { TimerQueue, TimerQueueImplementation } from './types';

let active: TimerQueueImplementation | undefined;

function activeTimers(): TimerQueueImplementation {
  if (!active) {
    const addon = twinAddon();
    if (addon) {
      const native = createNativeTimers(addon.TimerQueue);
      if (!native) throw new Error('MQTTSN_NATIVE=1 but the native addon has no working TimerQueue: rebuild it.');
      active = native;
    } else {
      active = tsTimers;
    }
  }
  return active;
}

/** A new, empty timer queue of the implementation in use. */
export function createTimerQueue(): TimerQueue {
  return activeTimers().create();
}

/** 'native' or 'ts': the queue createTimerQueue() makes (choosing it if not yet done). */
export function timerImplementation(): 'native' | 'ts' {
  return activeTimers().name;
}

export { MAX_TIMER_ID } from './arguments';
export type { TimerQueue, TimerQueueImplementation } from './types';
