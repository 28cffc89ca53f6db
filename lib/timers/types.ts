/**
 * Retransmission timer book-keeping: which outstanding packet is due when.
 * Pure data structure, time is passed in (milliseconds on any monotonic clock),
 * so fake clocks work. The client drives one real setTimeout at nextDeadline().
 */
export interface TimerQueue {
  /** Schedules (or re-schedules) timer `id` (a uint32) to fire at `deadline`. */
  schedule(id: number, deadline: number): void;
  /** Cancels timer `id`; returns whether it was scheduled. */
  cancel(id: number): boolean;
  /** Whether timer `id` is scheduled. */
  has(id: number): boolean;
  /** The earliest deadline, or Infinity when nothing is scheduled. */
  nextDeadline(): number;
  /**
   * Removes and returns the ids of all timers whose deadline is <= now, earliest
   * first (ties in scheduling order).
   */
  expire(now: number): number[];
  /** Number of scheduled timers. */
  readonly size: number;
  /** Cancels everything. */
  clear(): void;
}

export interface TimerQueueImplementation {
  readonly name: 'native' | 'ts';
  create(): TimerQueue;
}
