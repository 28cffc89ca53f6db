/**
 * Memory limits in octets, per session and for all sessions together:
 * counting entries alone (messages, topics, subscriptions) allowed tens of
 * gigabytes at the defaults. A session's octets are its queued messages, its
 * registered topic names and its subscription filters. The total is an
 * estimate that only grows between recounts and is recounted, from the
 * sessions themselves, when it reaches the limit (at most every RECOUNT_MS),
 * so the packet path never walks every session.
 */

const RECOUNT_MS = 100;

/** Subscription filters by name with their granted QoS, and the octets of the names. */
export class FilterMap<V> extends Map<string, V> {
  bytes = 0;

  override set(filter: string, value: V): this {
    if (!this.has(filter)) this.bytes += filter.length;
    return super.set(filter, value);
  }

  override delete(filter: string): boolean {
    if (this.has(filter)) this.bytes -= filter.length;
    return super.delete(filter);
  }

  override clear(): void {
    this.bytes = 0;
    super.clear();
  }
}

export type MemoryVerdict = 'ok' | 'sessionBytes' | 'totalBytes';

export class MemoryBudget {
  private estimate = 0;
  private lastRecount = -Infinity;

  constructor(
    /** Current limits (reloadable): octets per session and in all. */
    private readonly limits: () => { sessionBytes: number; totalBytes: number },
    /** Octets every session holds now. */
    private readonly recount: () => number,
    private readonly now: () => number,
  ) {}

  /** Whether `bytes` more fit a session holding `sessionHolds` and the total; counted in the total when they do. */
  take(sessionHolds: number, bytes: number): MemoryVerdict {
    const { sessionBytes, totalBytes } = this.limits();
    if (sessionHolds + bytes > sessionBytes) return 'sessionBytes';
    if (this.estimate + bytes > totalBytes && this.now() - this.lastRecount >= RECOUNT_MS) {
      this.estimate = this.recount();
      this.lastRecount = this.now();
    }
    if (this.estimate + bytes > totalBytes) return 'totalBytes';
    this.estimate += bytes;
    return 'ok';
  }
}
