/**
 * The messages waiting for one client, bounded: when full, a QoS 0 message
 * makes room (the newest QoS 0 is dropped, or the oldest queued QoS 0 is
 * evicted for a QoS 1/2 one); a QoS 1/2 message it cannot take waits outside
 * (see Outbox), its acknowledgement to the broker held.
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

/** Octets a message takes in a queue, as the memory limits count them. */
export function messageBytes(message: DownstreamMessage): number {
  return message.payload.length + message.topic.length;
}

export class MessageQueue {
  private items: DownstreamMessage[] = [];
  /** Octets of payload and topic name held, kept as messages come and go. */
  private size = 0;

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Octets of payload and topic name held. */
  bytes(): number {
    return this.size;
  }

  /** Whether push() would queue `message` (possibly evicting a QoS 0 one) rather than refuse it. */
  canTake(message: DownstreamMessage): boolean {
    return this.items.length < this.limit || (message.qos > 0 && this.items.some((m) => m.qos === 0));
  }

  /** Queues a message the session accepted before, beyond the limit if need be. */
  pushOver(message: DownstreamMessage): void {
    this.items.push(message);
    this.size += messageBytes(message);
  }

  push(message: DownstreamMessage): PushResult {
    if (this.items.length < this.limit) {
      this.items.push(message);
      this.size += messageBytes(message);
      return 'queued';
    }
    if (message.qos === 0) return 'dropped-qos0';
    const victim = this.items.findIndex((m) => m.qos === 0);
    if (victim < 0) return 'refused';
    this.size -= messageBytes(this.items.splice(victim, 1)[0]);
    this.items.push(message);
    this.size += messageBytes(message);
    return 'evicted-qos0';
  }

  /** What is queued, in order. */
  messages(): readonly DownstreamMessage[] {
    return this.items;
  }

  peek(): DownstreamMessage | undefined {
    return this.items[0];
  }

  shift(): DownstreamMessage | undefined {
    const message = this.items.shift();
    if (message) this.size -= messageBytes(message);
    return message;
  }

  /** Puts messages taken out earlier back in front, beyond the limit if need be: they were accepted once. */
  restore(messages: DownstreamMessage[]): void {
    this.items.unshift(...messages);
    for (const message of messages) this.size += messageBytes(message);
  }

  /** How many QoS 1/2 messages wait. */
  countQos12(): number {
    let count = 0;
    for (const message of this.items) if (message.qos > 0) count++;
    return count;
  }

  /** Removes every message for `topic` (its REGISTER was rejected). */
  removeTopic(topic: string): number {
    const before = this.items.length;
    this.items = this.items.filter((m) => m.topic !== topic);
    this.size = this.items.reduce((total, m) => total + messageBytes(m), 0);
    return before - this.items.length;
  }

  clear(): void {
    this.items = [];
    this.size = 0;
  }
}
