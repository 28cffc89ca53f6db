/**
 * Message ids whose exchange finished lately. A copy of a packet may still be
 * on the wire after its exchange ended (a retransmission the peer no longer
 * needed, delayed or duplicated by the network): while its id is remembered
 * here it is recognised as a copy instead of taken for a new message.
 *
 * Bounded twice: an id is forgotten `windowMs` after it finished (a copy older
 * than that is not expected on the wire), and at most `limit` are kept (the
 * oldest go first). Senders allocate ids in sequence over 1..65535, so a
 * genuine reuse of an id comes long after it left this memory.
 */
export class RecentIds {
  /** Id -> when it finished; Map order is finishing order. */
  private readonly finished = new Map<number, number>();

  constructor(
    private readonly windowMs: () => number,
    private readonly limit: number,
  ) {}

  get size(): number {
    return this.finished.size;
  }

  add(msgId: number, now: number): void {
    this.finished.delete(msgId);
    this.finished.set(msgId, now);
    this.prune(now);
  }

  has(msgId: number, now: number): boolean {
    this.prune(now);
    return this.finished.has(msgId);
  }

  clear(): void {
    this.finished.clear();
  }

  private prune(now: number): void {
    const window = this.windowMs();
    for (const [msgId, at] of this.finished) {
      if (this.finished.size <= this.limit && now - at < window) return;
      this.finished.delete(msgId);
    }
  }
}

/** How long a copy of a packet may still arrive: the sender's whole retransmission schedule. */
export function copyLifetimeMs(retryIntervalMs: number, retryCount: number): number {
  return retryIntervalMs * (retryCount + 1);
}
