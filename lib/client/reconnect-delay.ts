/**
 * Reconnect delays: doubling from minDelay up to maxDelay, each shortened by
 * a random part (jitter) so that clients cut off together do not return
 * together; back to minDelay after a success.
 */
export class ReconnectDelay {
  private failures = 0;

  constructor(
    private readonly policy: { minDelay: number; maxDelay: number; jitter: number },
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const full = Math.min(this.policy.maxDelay, this.policy.minDelay * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 40);
    return Math.round(full * (1 - this.policy.jitter * this.random()));
  }

  reset(): void {
    this.failures = 0;
  }
}
