/**
 * Messages on their way to one client: the bounded queue, topic ids
 * (REGISTER before the first PUBLISH of a topic without one), the QoS 1/2
 * in-flight window and retransmission with DUP.
 */
import { TopicIdType, type Packet, type PacketOf, type TopicIdTypeValue } from '../codec/packets';
import { MessageQueue, type DownstreamMessage } from './message-queue';
import type { LogLevel, ResolvedOptions } from './options';
import type { SessionTimers } from './ports';
import { countCongestion, countDownstream, type GatewayStats } from './stats';
import { topicMatches } from '../topics';
import type { TopicRegistry } from './topic-registry';

export interface OutboxHost {
  readonly clientId: string;
  readonly options: ResolvedOptions;
  readonly timers: SessionTimers;
  readonly stats: GatewayStats;
  send(packet: Packet): void;
  log(level: LogLevel, message: string): void;
  /** Whether packets may go to the client now. */
  canSend(): boolean;
  /** Nothing is queued or unacknowledged any more (after a pump). */
  idle(): void;
  /** The client refused the REGISTER of `topic`. */
  refused(topic: string): void;
}

interface InFlight {
  message: DownstreamMessage;
  packet: PacketOf<'PUBLISH'>;
  /** 'publish': waiting for PUBACK/PUBREC; 'pubrel': waiting for PUBCOMP. */
  stage: 'publish' | 'pubrel';
  attempts: number;
  timer: unknown;
  /** A PUBREL put on hold while the client could not receive it: sent again once it can. */
  held: boolean;
}

interface PendingRegister {
  packet: PacketOf<'REGISTER'>;
  attempts: number;
  timer: unknown;
}

export class Outbox {
  private readonly queue: MessageQueue;
  private readonly inFlight = new Map<number, InFlight>();
  private registering: PendingRegister | undefined;
  /** Starts anywhere: an acknowledgement of an id sent to an address proves it receives (AddressProof), so ids must not be guessable. */
  private nextMsgId = 1 + Math.floor(Math.random() * 0xffff);
  /** Topic names the client refused in a REGACK: not delivered until it subscribes again. */
  private readonly rejected = new Set<string>();
  private closed = false;

  constructor(
    private readonly host: OutboxHost,
    private readonly registry: TopicRegistry,
  ) {
    this.queue = new MessageQueue(host.options.limits.bufferedMessages);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Octets of the queued messages (payload and topic name). */
  queuedBytes(): number {
    return this.queue.bytes();
  }

  get idle(): boolean {
    return !this.registering && this.queue.length === 0 && this.inFlight.size === 0;
  }

  /** Queues a message from the broker and sends what it can. */
  add(message: DownstreamMessage): void {
    if (this.closed) return;
    const { stats, clientId } = this.host;
    switch (this.queue.push(message)) {
      case 'dropped-qos0':
      case 'evicted-qos0':
        stats.droppedQos0++;
        this.host.log('debug', `client ${clientId}: queue full, a QoS 0 message was dropped`);
        break;
      case 'refused':
        stats.refusedQos12++;
        this.host.log('warn', `client ${clientId}: queue full of QoS 1/2 messages, refused one on ${message.topic}`);
        break;
      default:
        break;
    }
    this.pump();
  }

  /** Sends what the queue holds, as far as the in-flight window and registration allow. */
  pump(): void {
    if (this.closed || !this.host.canSend()) return;
    this.releaseHeld();
    const { maxInFlight } = this.host.options.limits;
    while (!this.registering) {
      const message = this.queue.peek();
      if (!message) break;
      if (message.qos > 0 && this.inFlight.size >= maxInFlight) break;
      if (this.rejected.has(message.topic)) {
        this.queue.shift();
        continue;
      }
      const target = this.targetOf(message.topic);
      if (!target) {
        this.startRegister(message.topic);
        continue;
      }
      this.queue.shift();
      this.sendPublish(message, target.type, target.id);
    }
    if (this.idle) this.host.idle();
  }

  /** A new subscription lifts earlier refusals of the topics it matches. */
  allow(filter: string): void {
    for (const name of this.rejected) if (topicMatches(filter, name)) this.rejected.delete(name);
  }

  /**
   * A new connection: refusals are forgotten, unacknowledged messages go back to the queue;
   * QoS 2 messages the client already received keep their PUBREL, sent again on the next pump.
   */
  reset(): void {
    this.rejected.clear();
    this.requeue();
  }

  onRegack(packet: PacketOf<'REGACK'>): void {
    const pending = this.registering;
    if (!pending || pending.packet.msgId !== packet.msgId) return;
    this.host.timers.clear(pending.timer);
    this.registering = undefined;
    if (packet.returnCode !== 0) {
      const name = pending.packet.topicName;
      this.registry.remove(pending.packet.topicId);
      this.rejected.add(name);
      this.queue.removeTopic(name);
      this.host.refused(name);
    }
    this.pump();
  }

  onPuback(packet: PacketOf<'PUBACK'>): void {
    const entry = this.inFlight.get(packet.msgId);
    if (!entry) {
      // "Invalid topic id" may answer a QoS 0 PUBLISH too (v1.2 §6.10): forget the id, so the
      // next message on its topic is registered again instead of failing the same way forever.
      if (packet.returnCode === 2 && this.registry.nameOf(packet.topicId) !== undefined) this.registry.remove(packet.topicId);
      return;
    }
    this.finish(packet.msgId, entry);
    if (packet.returnCode !== 0) {
      // The client refused it (congestion, invalid topic id, not supported): not delivered, and said so.
      this.host.stats.undelivered++;
      this.host.log('warn', `client ${this.host.clientId}: refused message ${packet.msgId} on ${entry.message.topic} (return code ${packet.returnCode})`);
    }
    if (packet.returnCode === 2 && entry.packet.topicIdType === TopicIdType.NORMAL) {
      // The client lost the id: register the topic again before the next message.
      this.registry.remove(entry.packet.topicId as number);
    }
    this.pump();
  }

  onPubrec(packet: PacketOf<'PUBREC'>): void {
    const entry = this.inFlight.get(packet.msgId);
    this.host.send({ type: 'PUBREL', msgId: packet.msgId });
    if (!entry) return;
    entry.stage = 'pubrel';
    entry.held = false;
    entry.attempts = 0;
    this.host.timers.clear(entry.timer);
    entry.timer = this.host.timers.set(() => this.retransmit(packet.msgId), this.host.options.retry.interval);
  }

  onPubcomp(packet: PacketOf<'PUBCOMP'>): void {
    const entry = this.inFlight.get(packet.msgId);
    if (!entry) return;
    this.finish(packet.msgId, entry);
    this.pump();
  }

  /**
   * The client cannot receive for now (sleep, reconnect). Messages it has not acknowledged go back
   * to the front of the queue and will be published again. A QoS 2 message it already received
   * (PUBREC came) must not be published again: it stays in flight, its PUBREL on hold (v1.2 §6.10, §6.14).
   */
  requeue(): void {
    if (this.registering) {
      this.host.timers.clear(this.registering.timer);
      this.registry.remove(this.registering.packet.topicId);
      this.registering = undefined;
    }
    if (this.inFlight.size === 0) return;
    const pending: DownstreamMessage[] = [];
    for (const [msgId, entry] of this.inFlight) {
      this.host.timers.clear(entry.timer);
      entry.timer = undefined;
      if (entry.stage === 'pubrel') {
        entry.held = true;
      } else {
        pending.push(entry.message);
        this.inFlight.delete(msgId);
      }
    }
    this.queue.restore(pending);
  }

  /** The session ended: everything is dropped and every timer cleared. */
  close(): void {
    this.closed = true;
    if (this.registering) this.host.timers.clear(this.registering.timer);
    this.registering = undefined;
    for (const entry of this.inFlight.values()) this.host.timers.clear(entry.timer);
    this.inFlight.clear();
    this.queue.clear();
  }

  private finish(msgId: number, entry: InFlight): void {
    this.host.timers.clear(entry.timer);
    this.inFlight.delete(msgId);
  }

  private targetOf(topic: string): { type: TopicIdTypeValue; id: number | string } | undefined {
    const predefined = this.registry.predefinedId(topic);
    if (predefined !== undefined) return { type: TopicIdType.PREDEFINED, id: predefined };
    const normal = this.registry.idOf(topic);
    if (normal !== undefined) return { type: TopicIdType.NORMAL, id: normal };
    if (topic.length === 2 && Buffer.byteLength(topic) === 2) return { type: TopicIdType.SHORT, id: topic };
    return undefined;
  }

  private startRegister(topic: string): void {
    const id = this.registry.register(topic);
    if (id === undefined) {
      // No room for another topic id: this message cannot be addressed.
      this.queue.shift();
      countCongestion(this.host.stats, 'topicsPerClient');
      this.host.log('warn', `client ${this.host.clientId}: topic limit reached, message on ${topic} not delivered`);
      return;
    }
    const packet: PacketOf<'REGISTER'> = { type: 'REGISTER', topicId: id, msgId: this.allocateMsgId(), topicName: topic };
    this.registering = { packet, attempts: 0, timer: undefined };
    this.host.send(packet);
    this.registering.timer = this.host.timers.set(() => this.retransmitRegister(), this.host.options.retry.interval);
  }

  private retransmitRegister(): void {
    const pending = this.registering;
    if (!pending || this.closed) return;
    if (pending.attempts >= this.host.options.retry.count) {
      this.registering = undefined;
      this.registry.remove(pending.packet.topicId);
      this.host.stats.undelivered += this.queue.removeTopic(pending.packet.topicName);
      this.host.log('warn', `client ${this.host.clientId}: no REGACK for ${pending.packet.topicName}, its messages were dropped`);
      this.pump();
      return;
    }
    pending.attempts++;
    this.host.stats.retransmissions++;
    this.host.send(pending.packet);
    pending.timer = this.host.timers.set(() => this.retransmitRegister(), this.host.options.retry.interval);
  }

  private sendPublish(message: DownstreamMessage, topicIdType: TopicIdTypeValue, topicId: number | string): void {
    const msgId = message.qos === 0 ? 0 : this.allocateMsgId();
    const packet: PacketOf<'PUBLISH'> = {
      type: 'PUBLISH',
      dup: false,
      qos: message.qos,
      retain: message.retain,
      topicIdType,
      topicId,
      msgId,
      payload: message.payload,
    };
    countDownstream(this.host.stats, message.qos);
    this.host.send(packet);
    if (message.qos === 0) return;
    const entry: InFlight = { message, packet, stage: 'publish', attempts: 0, timer: undefined, held: false };
    entry.timer = this.host.timers.set(() => this.retransmit(msgId), this.host.options.retry.interval);
    this.inFlight.set(msgId, entry);
  }

  /** Sends the PUBRELs held while the client could not receive, before any queued message. */
  private releaseHeld(): void {
    for (const [msgId, entry] of this.inFlight) {
      if (!entry.held) continue;
      entry.held = false;
      entry.attempts = 0;
      this.host.send({ type: 'PUBREL', msgId });
      entry.timer = this.host.timers.set(() => this.retransmit(msgId), this.host.options.retry.interval);
    }
  }

  private retransmit(msgId: number): void {
    const entry = this.inFlight.get(msgId);
    if (!entry || this.closed) return;
    if (entry.attempts >= this.host.options.retry.count) {
      this.inFlight.delete(msgId);
      this.host.stats.undelivered++;
      this.host.log('warn', `client ${this.host.clientId}: gave up message ${msgId} on ${entry.message.topic} after ${entry.attempts} retries`);
      this.pump();
      return;
    }
    entry.attempts++;
    this.host.stats.retransmissions++;
    this.host.send(entry.stage === 'publish' ? { ...entry.packet, dup: true } : { type: 'PUBREL', msgId });
    entry.timer = this.host.timers.set(() => this.retransmit(msgId), this.host.options.retry.interval);
  }

  private allocateMsgId(): number {
    for (;;) {
      const id = this.nextMsgId;
      this.nextMsgId = id >= 0xffff ? 1 : id + 1;
      if (!this.inFlight.has(id) && this.registering?.packet.msgId !== id) return id;
    }
  }
}
