/**
 * Will updates of one client, coalesced: in transparent mode each one costs a
 * broker reconnect (MQTT fixes the will at CONNECT), so a flood of WILLMSGUPD
 * would be a flood of reconnects. At most one update is applied per interval;
 * updates arriving meanwhile are merged (the latest will wins) and every one
 * of them is answered when the merged update is applied.
 */
import type { Will } from './ports';

type Done = (error?: Error) => void;

export class WillUpdates {
  private pending: { will: Will | undefined; waiting: Done[] } | undefined;
  private applying = false;
  private last = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly apply: (will: Will | undefined, done: Done) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  request(will: Will | undefined, done: Done): void {
    if (this.closed) return done();
    if (this.pending) {
      this.pending.will = will;
      this.pending.waiting.push(done);
      return;
    }
    this.pending = { will, waiting: [done] };
    this.next();
  }

  private next(): void {
    if (this.applying || this.timer || !this.pending || this.closed) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.next();
      }, wait);
      return;
    }
    const { will, waiting } = this.pending;
    this.pending = undefined;
    this.applying = true;
    this.last = this.now();
    this.apply(will, (error) => {
      this.applying = false;
      this.last = this.now();
      for (const done of waiting) done(error);
      this.next();
    });
  }

  /** Drops what is waiting (the session ended); its callbacks hear nothing more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
