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
  /** The client stopped answering: every retransmission of a delivery went unanswered. */
  lost(reason: string): void;
  /**
   * What becomes of a QoS 1/2 message the full queue cannot take: it waits, its broker
   * acknowledgement held ('hold'); it is taken beyond the bound ('over'); or refused, counted and
   * logged ('refuse').
   */
  whenFull(): 'hold' | 'over' | 'refuse';
  /** Whether QoS 1/2 messages stay with the broker for now (a persistent session asleep): none is taken in. */
  keepAtBroker(): boolean;
}

interface InFlight {
  message: DownstreamMessage;
  packet: PacketOf<'PUBLISH'>;
  /** 'publish': waiting for PUBACK/PUBREC; 'pubrel': waiting for PUBCOMP. */
  stage: 'publish' | 'pubrel';
  attempts: number;
  timer: unknown;
  /** Put on hold while the client could not receive: sent again, with the same message id, once it can. */
  held: boolean;
}

interface Waiting {
  message: DownstreamMessage;
  accepted: () => void;
}

/** QoS 0 messages dropped for a full queue are logged at most this often per client. */
const DROPPED_QOS0_LOG_INTERVAL_MS = 10000;

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
  /** QoS 1/2 messages the full queue could not take yet, their acknowledgement to the broker held. */
  private readonly waiting: Waiting[] = [];
  /** Messages sent again after the client answered "invalid topic id" (once only). */
  private readonly readdressed = new WeakSet<DownstreamMessage>();
  private droppedSinceLog = 0;
  private droppedLoggedAt = -Infinity;

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
    return !this.registering && this.queue.length === 0 && this.inFlight.size === 0 && this.waiting.length === 0;
  }

  /**
   * Takes a message from the broker and sends what it can. `accepted` runs once the message is
   * queued: a QoS 1/2 message the full queue cannot take waits (and with it the broker's
   * acknowledgement, so that the broker keeps what the client cannot take yet), goes in beyond
   * the bound, or is refused, counted and logged, as the session says (OutboxHost.whenFull).
   */
  add(message: DownstreamMessage, accepted: () => void = () => undefined): void {
    if (this.closed) {
      if (message.qos > 0) this.host.stats.undelivered++;
      accepted();
      return;
    }
    const full = message.qos > 0 && (this.waiting.length > 0 || !this.roomFor(message));
    const policy = full ? this.host.whenFull() : 'refuse';
    if (policy === 'hold') {
      this.waiting.push({ message, accepted });
      this.host.stats.held++;
      return;
    }
    this.admitWaiting();
    if (policy === 'over') this.queue.pushOver(message);
    else this.enqueue(message);
    accepted();
    this.pump();
  }

  private roomFor(message: DownstreamMessage): boolean {
    return this.queue.canTake(message) && (message.qos === 0 || !this.host.keepAtBroker());
  }

  private enqueue(message: DownstreamMessage): void {
    const { stats, clientId } = this.host;
    switch (this.queue.push(message)) {
      case 'dropped-qos0':
      case 'evicted-qos0':
        stats.droppedQos0++;
        this.droppedSinceLog++;
        this.logDroppedQos0();
        break;
      case 'refused':
        stats.refusedQos12++;
        this.host.log('warn', `client ${clientId}: queue full of QoS 1/2 messages, refused one on ${message.topic}`);
        break;
      default:
        break;
    }
  }

  /** QoS 0 overflow is normal under load: logged once per interval, with the count. */
  private logDroppedQos0(): void {
    const now = this.host.timers.now();
    if (now - this.droppedLoggedAt < DROPPED_QOS0_LOG_INTERVAL_MS) return;
    this.host.log('warn', `client ${this.host.clientId}: queue full, ${this.droppedSinceLog} QoS 0 message(s) dropped`);
    this.droppedLoggedAt = now;
    this.droppedSinceLog = 0;
  }

  /** Sends what the queue holds, as far as the in-flight window and registration allow. */
  pump(): void {
    if (this.closed) return;
    this.sendQueued();
    if (this.admitWaiting()) this.sendQueued();
    if (this.idle && this.host.canSend()) this.host.idle();
  }

  /** Room made: the messages waiting come in (all of them, once the session holds no more). True when any came. */
  private admitWaiting(): boolean {
    let admitted = false;
    while (this.waiting.length > 0 && (this.roomFor(this.waiting[0].message) || this.host.whenFull() !== 'hold')) {
      const { message, accepted } = this.waiting.shift() as Waiting;
      this.queue.pushOver(message);
      accepted();
      admitted = true;
    }
    return admitted;
  }

  private sendQueued(): void {
    if (!this.host.canSend()) return;
    const { maxInFlight } = this.host.options.limits;
    while (this.releaseHeld() && !this.registering) {
      const message = this.queue.peek();
      if (!message) break;
      if (message.qos > 0 && this.inFlight.size >= maxInFlight) break;
      if (this.rejected.has(message.topic)) {
        this.queue.shift();
        continue;
      }
      const target = this.targetOf(message.topic);
      if (!target) {
        if (!this.startRegister(message.topic)) this.queue.shift();
        continue;
      }
      this.queue.shift();
      this.sendPublish(message, target.type, target.id);
    }
  }

  /** The QoS 1/2 messages not yet acknowledged by the client, oldest first (for the session store). */
  pending(): DownstreamMessage[] {
    const sent = [...this.inFlight.values()].filter((entry) => entry.stage === 'publish').map((entry) => entry.message);
    const queued = this.queue.messages().filter((message) => message.qos > 0);
    return [...sent, ...queued, ...this.waiting.map((w) => w.message)];
  }

  /** Puts messages a stored session held in front of the queue (they were accepted once). */
  restoreMessages(messages: DownstreamMessage[]): void {
    this.queue.restore(messages);
  }

  /** Forgets the messages waiting for room: their broker connection is gone and the broker sends them again. */
  discardWaiting(): void {
    this.waiting.length = 0;
  }

  /** A new subscription lifts earlier refusals of the topics it matches. */
  allow(filter: string): void {
    for (const name of this.rejected) if (topicMatches(filter, name)) this.rejected.delete(name);
  }

  /** A new connection: refusals are forgotten, unacknowledged messages are held for the next pump. */
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
      this.host.stats.undelivered += this.queue.removeTopic(name) + this.dropHeld(name);
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
    const lostTopicId = packet.returnCode === 2 && entry.packet.topicIdType === TopicIdType.NORMAL;
    if (lostTopicId) {
      // The client lost the id (a SUBACK or REGISTER it never got): register the topic again.
      this.registry.remove(entry.packet.topicId as number);
    }
    if (lostTopicId && !this.readdressed.has(entry.message)) {
      // ... and send the message again after the REGISTER, once.
      this.readdressed.add(entry.message);
      this.queue.restore([entry.message]);
    } else if (packet.returnCode !== 0) {
      // The client refused it (congestion, invalid topic id, not supported): not delivered, and said so.
      this.host.stats.undelivered++;
      this.host.log('warn', `client ${this.host.clientId}: refused message ${packet.msgId} on ${entry.message.topic} (return code ${packet.returnCode})`);
    }
    this.pump();
  }

  onPubrec(packet: PacketOf<'PUBREC'>): void {
    const entry = this.inFlight.get(packet.msgId);
    if (!entry) {
      // Unknown or finished: the PUBREL lets the client drop what it stored; it delivers nothing it
      // released already (a copy of a finished message is recognised there, not delivered again).
      this.host.send({ type: 'PUBREL', msgId: packet.msgId });
      return;
    }
    entry.stage = 'pubrel';
    entry.attempts = 0;
    this.host.timers.clear(entry.timer);
    entry.timer = undefined;
    if (entry.held || !this.host.canSend()) {
      entry.held = true;
      return;
    }
    this.host.send({ type: 'PUBREL', msgId: packet.msgId });
    entry.timer = this.host.timers.set(() => this.retransmit(packet.msgId), this.host.options.retry.interval);
  }

  onPubcomp(packet: PacketOf<'PUBCOMP'>): void {
    const entry = this.inFlight.get(packet.msgId);
    if (!entry) return;
    this.finish(packet.msgId, entry);
    this.pump();
  }

  /**
   * The client cannot receive for now (sleep, reconnect). Unacknowledged messages stay in flight
   * with their message ids, held: once the client can receive, a PUBLISH goes out again with DUP
   * and the same id (so that the client recognises a copy it stored) and a PUBREL goes out again
   * (a QoS 2 message the client already received is never published again), v1.2 §6.10, §6.14.
   */
  requeue(): void {
    if (this.registering) {
      this.host.timers.clear(this.registering.timer);
      this.registry.remove(this.registering.packet.topicId);
      this.registering = undefined;
    }
    for (const entry of this.inFlight.values()) {
      this.host.timers.clear(entry.timer);
      entry.timer = undefined;
      entry.held = true;
    }
  }

  /** The session ended: everything is dropped (QoS 1/2 counted as undelivered) and every timer cleared. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.stats.undelivered += this.inFlight.size + this.queue.countQos12() + this.waiting.length;
    // The broker hears of the held ones now: their session is gone (a shared connection must go on).
    for (const { accepted } of this.waiting.splice(0)) accepted();
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

  /** Sends a REGISTER for `topic`; false when the client has no room for another topic id. */
  private startRegister(topic: string): boolean {
    const id = this.registry.register(topic);
    if (id === undefined) {
      countCongestion(this.host.stats, 'topicsPerClient');
      this.host.stats.undelivered++;
      this.host.log('warn', `client ${this.host.clientId}: topic limit reached, message on ${topic} not delivered`);
      return false;
    }
    const packet: PacketOf<'REGISTER'> = { type: 'REGISTER', topicId: id, msgId: this.allocateMsgId(), topicName: topic };
    this.registering = { packet, attempts: 0, timer: undefined };
    this.host.send(packet);
    this.registering.timer = this.host.timers.set(() => this.retransmitRegister(), this.host.options.retry.interval);
    return true;
  }

  private retransmitRegister(): void {
    const pending = this.registering;
    if (!pending || this.closed) return;
    if (pending.attempts >= this.host.options.retry.count) {
      this.host.lost(`no REGACK for ${pending.packet.topicName} after ${pending.attempts} retries`);
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

  /**
   * Sends what was held while the client could not receive, before any queued message. A held
   * PUBLISH may need its topic registered again first (a new connection forgets topic ids):
   * false while such a REGISTER is under way.
   */
  private releaseHeld(): boolean {
    for (const [msgId, entry] of this.inFlight) {
      if (!entry.held) continue;
      if (entry.stage === 'publish') {
        if (this.registering) return false;
        const { topic } = entry.message;
        const refused = this.rejected.has(topic);
        const target = refused ? undefined : this.targetOf(topic);
        if (!target) {
          if (!refused && this.startRegister(topic)) return false;
          if (refused) this.host.stats.undelivered++;
          this.inFlight.delete(msgId);
          continue;
        }
        entry.packet = { ...entry.packet, topicIdType: target.type, topicId: target.id, dup: true };
      }
      entry.held = false;
      entry.attempts = 0;
      this.host.send(entry.stage === 'publish' ? entry.packet : { type: 'PUBREL', msgId });
      entry.timer = this.host.timers.set(() => this.retransmit(msgId), this.host.options.retry.interval);
    }
    return true;
  }

  /** Drops the held messages on `topic` (the client refused it); returns how many. */
  private dropHeld(topic: string): number {
    let dropped = 0;
    for (const [msgId, entry] of this.inFlight) {
      if (!entry.held || entry.stage !== 'publish' || entry.message.topic !== topic) continue;
      this.inFlight.delete(msgId);
      dropped++;
    }
    return dropped;
  }

  private retransmit(msgId: number): void {
    const entry = this.inFlight.get(msgId);
    if (!entry || this.closed) return;
    if (entry.attempts >= this.host.options.retry.count) {
      // Dropping it and going on would lose it while the session looks healthy: the client is lost.
      const awaited = entry.stage === 'publish' ? (entry.message.qos === 1 ? 'PUBACK' : 'PUBREC') : 'PUBCOMP';
      this.host.lost(`no ${awaited} for message ${msgId} on ${entry.message.topic} after ${entry.attempts} retries`);
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
