/**
 * Every timer of one gateway (retransmissions, REGISTER retries, keep-alive
 * and sleep supervision of all its sessions) kept in one timer queue of the
 * timers twin, with one underlying timer armed at the earliest deadline: a
 * gateway with thousands of messages in flight holds one real timer, not
 * thousands. It is itself SessionTimers over SessionTimers, so sessions need
 * no change and a manual clock underneath still drives everything in tests.
 */
import { createTimerQueue, MAX_TIMER_ID, type TimerQueue } from '../timers';
import type { SessionTimers } from './ports';

export class GatewayTimers implements SessionTimers {
  private readonly queue: TimerQueue = createTimerQueue();
  private readonly callbacks = new Map<number, () => void>();
  private nextId = 1;
  /** The one underlying timer, and when it is due (Infinity: none armed). */
  private armed: unknown;
  private armedAt = Infinity;

  constructor(private readonly base: SessionTimers) {}

  /** Timers scheduled and not yet fired or cleared. */
  get size(): number {
    return this.callbacks.size;
  }

  now(): number {
    return this.base.now();
  }

  set(fn: () => void, ms: number): unknown {
    const id = this.allocateId();
    this.callbacks.set(id, fn);
    this.queue.schedule(id, this.base.now() + Math.max(0, ms));
    this.arm();
    return id;
  }

  clear(handle: unknown): void {
    if (typeof handle !== 'number' || !this.callbacks.delete(handle)) return;
    this.queue.cancel(handle);
    // The underlying timer stays: if it fires early it finds nothing due and re-arms (cheaper than re-arming on every clear).
  }

  /** Clears every timer and the underlying one. */
  close(): void {
    this.queue.clear();
    this.callbacks.clear();
    this.disarm();
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_TIMER_ID ? 1 : id + 1;
      if (!this.callbacks.has(id)) return id;
    }
  }

  private arm(): void {
    const at = this.queue.nextDeadline();
    // An underlying timer due no later than needed stays.
    if (this.armedAt <= at) return;
    this.disarm();
    if (at === Infinity) return;
    this.armedAt = at;
    this.armed = this.base.set(() => this.fire(), Math.max(0, Math.ceil(at - this.base.now())));
  }

  private disarm(): void {
    if (this.armedAt !== Infinity) this.base.clear(this.armed);
    this.armed = undefined;
    this.armedAt = Infinity;
  }

  private fire(): void {
    this.armed = undefined;
    this.armedAt = Infinity;
    for (const id of this.queue.expire(this.base.now())) {
      const fn = this.callbacks.get(id);
      // A callback may clear timers that expired with it: those do not run.
      if (!fn) continue;
      this.callbacks.delete(id);
      fn();
    }
    this.arm();
  }
}
