/**
 * Which senders without a session may be answered with DISCONNECT. A
 * DISCONNECT from such a sender is answered once, then not again until the
 * sender has been quiet for a while: otherwise two gateways (or a gateway and
 * a spoofed copy of its own address) would answer each other's DISCONNECTs
 * forever.
 */
export class QuietAnswers {
  /** Key → when it was last answered, oldest first (Map keeps insertion order). */
  private readonly answered = new Map<string, number>();

  constructor(
    private readonly quietMs: number,
    private readonly capacity: number,
  ) {}

  /** Whether a DISCONNECT from `key` arriving at `now` gets an answer; records it when it does. */
  mayAnswer(key: string, now: number): boolean {
    const last = this.answered.get(key);
    if (last !== undefined && now - last < this.quietMs) return false;
    this.answered.delete(key);
    this.answered.set(key, now);
    if (this.answered.size > this.capacity) {
      const oldest = this.answered.keys().next().value;
      if (oldest !== undefined) this.answered.delete(oldest);
    }
    return true;
  }
}
