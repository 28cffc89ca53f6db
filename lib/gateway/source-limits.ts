/**
 * Limits per source address, so that one sender cannot take what every
 * client shares: rates (new sessions, SEARCHGW answers) as token buckets per
 * source and in all, and the number of sessions each source holds. Sources
 * are IP addresses: every port of a host, and every node behind a forwarder,
 * counts as the forwarder's.
 */

/** `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Whether a token is there at `now` (ms); takes it when it is. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether it is full at `now`: a source in this state is remembered for nothing. */
  full(now: number): boolean {
    return this.tokens + ((now - this.last) * this.rate) / 1000 >= this.burst;
  }
}

export type RateVerdict = 'ok' | 'source' | 'total';

/** A rate per source and one in all; the sources remembered are bounded (the oldest forgotten first). */
export class RateLimit {
  private readonly perSource = new Map<string, TokenBucket>();
  private readonly total: TokenBucket;

  constructor(
    private readonly perSourceRate: number,
    totalRate: number,
    private readonly memory: number,
    now: number,
  ) {
    this.total = new TokenBucket(totalRate, Math.max(1, totalRate), now);
  }

  /** Takes one from `source` and from the total, or says which one is spent. */
  take(source: string, now: number): RateVerdict {
    let bucket = this.perSource.get(source);
    if (bucket) {
      // refreshed: the Map's order is the order of last use
      this.perSource.delete(source);
    } else {
      bucket = new TokenBucket(this.perSourceRate, Math.max(1, this.perSourceRate), now);
      if (this.perSource.size >= this.memory) this.forgetOldest(now);
    }
    this.perSource.set(source, bucket);
    if (!bucket.take(now)) return 'source';
    // a source over its own rate does not spend the total
    return this.total.take(now) ? 'ok' : 'total';
  }

  /** Forgets a source: the first with a full bucket (it loses nothing) among the oldest few, or the oldest. */
  private forgetOldest(now: number): void {
    let victim: string | undefined;
    let scanned = 0;
    for (const [source, bucket] of this.perSource) {
      victim ??= source;
      if (bucket.full(now)) {
        victim = source;
        break;
      }
      if (++scanned >= 16) break;
    }
    if (victim !== undefined) this.perSource.delete(victim);
  }
}

/** How many sessions each source address holds. */
export class SourceCounter {
  private readonly counts = new Map<string, number>();

  count(source: string): number {
    return this.counts.get(source) ?? 0;
  }

  add(source: string): void {
    this.counts.set(source, this.count(source) + 1);
  }

  remove(source: string): void {
    const n = this.count(source) - 1;
    if (n > 0) this.counts.set(source, n);
    else this.counts.delete(source);
  }

  clear(): void {
    this.counts.clear();
  }
}
