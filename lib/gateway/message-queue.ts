/**
 * The messages waiting for one client, bounded: when full, a QoS 0 message
 * makes room (the newest QoS 0 is dropped, or the oldest queued QoS 0 is
 * evicted for a QoS 1/2 one); QoS 1/2 are refused only when nothing else can go.
 */
import type { SessionQoS } from '../codec/packets';

export interface DownstreamMessage {
  topic: string;
  payload: Buffer;
  qos: SessionQoS;
  retain: boolean;
}

/** What push() did: queued, queued after evicting a QoS 0 message, or refused. */
export type PushResult = 'queued' | 'evicted-qos0' | 'dropped-qos0' | 'refused';

export class MessageQueue {
  private items: DownstreamMessage[] = [];

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Octets of payload and topic name held (counted when asked: only metrics ask). */
  bytes(): number {
    let total = 0;
    for (const m of this.items) total += m.payload.length + m.topic.length;
    return total;
  }

  push(message: DownstreamMessage): PushResult {
    if (this.items.length < this.limit) {
      this.items.push(message);
      return 'queued';
    }
    if (message.qos === 0) return 'dropped-qos0';
    const victim = this.items.findIndex((m) => m.qos === 0);
    if (victim < 0) return 'refused';
    this.items.splice(victim, 1);
    this.items.push(message);
    return 'evicted-qos0';
  }

  peek(): DownstreamMessage | undefined {
    return this.items[0];
  }

  shift(): DownstreamMessage | undefined {
    return this.items.shift();
  }

  /** Puts messages taken out earlier back in front, beyond the limit if need be: they were accepted once. */
  restore(messages: DownstreamMessage[]): void {
    this.items.unshift(...messages);
  }

  /** Removes every message for `topic` (its REGISTER was rejected). */
  removeTopic(topic: string): number {
    const before = this.items.length;
    this.items = this.items.filter((m) => m.topic !== topic);
    return before - this.items.length;
  }

  clear(): void {
    this.items = [];
  }
}
