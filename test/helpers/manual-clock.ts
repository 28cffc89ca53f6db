/**
 * Timers that fire only when a test moves the clock: keep-alive, sleep and
 * retransmission timings of minutes, checked in no time.
 */
import type { SessionTimers } from '../../lib/gateway/ports';

/** Timers that fire only when the test moves the clock. */
export class ManualClock implements SessionTimers {
  private time = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  set(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Underlying timers armed and not yet fired or cleared. */
  get armed(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}
