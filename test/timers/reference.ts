/**
 * A deliberately simple timer queue (a Map and a sort) that states the
 * contract plainly, for the implementations to be compared with.
 */

/** Timer queue by brute force: expire() sorts whatever is due. */
export class ReferenceQueue {
  private readonly timers = new Map<number, { deadline: number; sequence: number }>();
  private sequence = 0;

  get size(): number {
    return this.timers.size;
  }

  schedule(id: number, deadline: number): void {
    this.timers.set(id, { deadline, sequence: this.sequence++ });
  }

  cancel(id: number): boolean {
    return this.timers.delete(id);
  }

  has(id: number): boolean {
    return this.timers.has(id);
  }

  nextDeadline(): number {
    let next = Infinity;
    for (const { deadline } of this.timers.values()) next = Math.min(next, deadline);
    return next;
  }

  expire(now: number): number[] {
    const due = [...this.timers.entries()]
      .filter(([, timer]) => timer.deadline <= now)
      .sort(([, a], [, b]) => a.deadline - b.deadline || a.sequence - b.sequence)
      .map(([id]) => id);
    for (const id of due) this.timers.delete(id);
    return due;
  }

  clear(): void {
    this.timers.clear();
  }
}
