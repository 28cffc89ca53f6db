/**
 * An in-flight window: at most `capacity` flows run at once, the rest wait in
 * arrival order. MQTT-SN allows one outstanding REGISTER, one SUBSCRIBE or
 * UNSUBSCRIBE and (by default) one QoS 1/2 PUBLISH; the publish window grows
 * with the MaxInFlight setting.
 */
export class InFlightWindow<T> {
  private readonly running = new Set<T>();
  private readonly waiting: T[] = [];

  constructor(private capacityOf: () => number) {}

  /** Starts `item` now (true) or queues it (false). */
  admit(item: T): boolean {
    if (this.running.size < Math.max(1, this.capacityOf())) {
      this.running.add(item);
      return true;
    }
    this.waiting.push(item);
    return false;
  }

  /** Ends `item` (running or waiting); returns the items that may start now. */
  release(item: T): T[] {
    if (!this.running.delete(item)) {
      const at = this.waiting.indexOf(item);
      if (at >= 0) this.waiting.splice(at, 1);
      return [];
    }
    return this.drain();
  }

  /** Starts waiting items while there is room (after the capacity grew, for example). */
  drain(): T[] {
    const started: T[] = [];
    while (this.waiting.length > 0 && this.running.size < Math.max(1, this.capacityOf())) {
      const next = this.waiting.shift() as T;
      this.running.add(next);
      started.push(next);
    }
    return started;
  }

  isRunning(item: T): boolean {
    return this.running.has(item);
  }

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Removes everything; returns what was running then what was waiting. */
  clear(): T[] {
    const all = [...this.running, ...this.waiting];
    this.running.clear();
    this.waiting.length = 0;
    return all;
  }
}
