/**
 * Calls made while the managed client is (re)connecting: held in order, up to
 * a count and a number of payload octets, and started once a session is up.
 * A call beyond the bound, or held longer than the hold timeout, rejects with
 * a coded error: nothing is dropped silently.
 */
import { ErrorCode, MqttSnError } from '../errors';

interface Held {
  bytes: number;
  start(): void;
  reject(error: MqttSnError): void;
  timer: NodeJS.Timeout | undefined;
}

export interface HoldLimits {
  count: number;
  bytes: number;
  /** ms; 0 waits as long as it takes. */
  timeout: number;
}

export class HeldCalls {
  private readonly queue: Held[] = [];
  private heldBytes = 0;

  constructor(private readonly limits: HoldLimits) {}

  get count(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** Holds `call` until flush(); its promise settles with the call's. */
  hold<T>(bytes: number, what: string, call: () => Promise<T>): Promise<T> {
    if (this.queue.length + 1 > this.limits.count || this.heldBytes + bytes > this.limits.bytes) {
      return Promise.reject(
        new MqttSnError(
          ErrorCode.LIMIT_REACHED,
          `${what} refused: not connected, and the calls held meanwhile are at their bound ` +
            `(${this.queue.length} of ${this.limits.count} calls, ${this.heldBytes} of ${this.limits.bytes} octets).`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const held: Held = {
        bytes,
        start: () => call().then(resolve, reject),
        reject,
        timer: undefined,
      };
      if (this.limits.timeout > 0) {
        held.timer = setTimeout(() => {
          this.remove(held);
          const seconds = this.limits.timeout / 1000;
          reject(new MqttSnError(ErrorCode.NOT_CONNECTED, `${what} held while not connected to the gateway; still not connected within ${seconds} s.`));
        }, this.limits.timeout);
      }
      this.queue.push(held);
      this.heldBytes += bytes;
    });
  }

  /** Starts every held call, in the order they were made. */
  flush(): void {
    for (const held of this.take()) held.start();
  }

  rejectAll(error: MqttSnError): void {
    for (const held of this.take()) held.reject(error);
  }

  private take(): Held[] {
    const all = this.queue.splice(0);
    this.heldBytes = 0;
    for (const held of all) clearTimeout(held.timer);
    return all;
  }

  private remove(held: Held): void {
    const at = this.queue.indexOf(held);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.heldBytes -= held.bytes;
  }
}
