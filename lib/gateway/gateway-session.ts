/**
 * One MQTT-SN client as the gateway sees it (v1.2 §6.14): the will exchange,
 * topic ids, the QoS flows from the client, subscriptions, keep-alive and
 * sleep supervision. Messages towards the client go through its Outbox.
 *
 * Pure protocol logic: packets come in through handle(), go out through the
 * host, the broker side is an UpstreamLink and time is the host's timers.
 */
import { ReturnCode, TopicIdType, type Connect, type Packet, type PacketOf, type PacketType, type SessionQoS, type TopicIdTypeValue } from '../codec/packets';
import type { DownstreamMessage } from './message-queue';
import { toleranceMs } from '../keep-alive';
import { Outbox } from './outbox';
import type { EndReason, SessionHost, UpstreamLink, UpstreamSink, Will } from './ports';
import { copyLifetimeMs, RecentIds } from '../recent-ids';
import { hasWildcard } from '../topics';
import { describeTopicFault, topicFilterFault, topicNameFault } from './topic-policy';
import { FilterMap } from './memory-budget';
import { messageBytes } from './message-queue';
import { shortTopicToId } from '../topic-ids';
import { TopicRegistry, type PredefinedIndex } from './topic-registry';
import type { StoredSession } from './session-store';
import { countCongestion, countUpstream } from './stats';

export type { EndReason, OpenParams, SessionHost, SessionTimers, UpstreamLink, UpstreamSink, Will } from './ports';

export type SessionState = 'connecting' | 'active' | 'asleep' | 'awake' | 'ended';

const EMPTY = Buffer.alloc(0);
/** Finished message ids a client's session remembers at most, per QoS. */
const RECENT_IDS_LIMIT = 1024;

/** Compares wills by value, to skip needless updates of the broker side. */
function willKey(will: Will | undefined): string {
  return JSON.stringify(will ?? null);
}

export class GatewaySession implements UpstreamSink {
  state: SessionState = 'connecting';
  cleanSession = true;
  keepAlive = 0;
  /** The subscriptions by filter with their granted QoS; kept across connections when cleanSession is off. */
  readonly subscriptions = new FilterMap<SessionQoS>();

  private readonly link: UpstreamLink;
  private readonly registry: TopicRegistry;
  private readonly outbox: Outbox;
  private linkOpen = false;
  /** SUBSCRIBEs waiting for the broker: deliveries wait too, so that SUBACK comes first. */
  private subscribing = 0;
  private opening = false;
  private willStep: 'none' | 'topic' | 'message' = 'none';
  private willTopic: Omit<Will, 'payload'> | undefined;
  private willPayload: Buffer = EMPTY;
  private sleepSeconds = 0;
  private lastSeen: number;
  private superviseTimer: unknown;
  /** The will the broker side holds, to skip needless updates on a reconnect. */
  private linkWill = '';
  /** The CONNECT being answered, and the one accepted last with when. */
  private lastConnect: Connect | undefined;
  private acceptedConnect: { packet: Connect; at: number } | undefined;
  /** Whether a packet other than CONNECT came after the last CONNACK. */
  private heardSinceAccept = false;
  /** Client QoS 1 publishes waiting for the broker. */
  private readonly pendingQos1 = new Set<number>();
  /** Client QoS 2 publishes: 'pending' at the broker, 'received' once PUBREC went out. */
  private readonly qos2In = new Map<number, 'pending' | 'received'>();
  /** Client QoS 2 publishes released lately: a late copy of one is answered, not published again. */
  private readonly releasedQos2: RecentIds;
  /** Client QoS 1 publishes acknowledged lately: the same for a copy of one of them. */
  private readonly acknowledgedQos1: RecentIds;

  constructor(
    private readonly host: SessionHost<GatewaySession>,
    /** The gateway's name for the client's address. */
    public key: string,
    readonly clientId: string,
    predefined: PredefinedIndex,
    createLink: (sink: UpstreamSink) => UpstreamLink,
    restored?: ReadonlyMap<string, SessionQoS>,
  ) {
    const { limits } = host.options;
    this.registry = new TopicRegistry(predefined, limits.topicsPerClient);
    this.outbox = new Outbox(
      {
        clientId,
        options: host.options,
        timers: host.timers,
        stats: host.stats,
        send: (packet) => this.send(packet),
        log: (level, message) => host.log(level, message),
        canSend: () => (this.state === 'active' || this.state === 'awake') && this.subscribing === 0,
        idle: () => this.onOutboxIdle(),
        refused: (topic) => this.onTopicRefused(topic),
        lost: (reason) => this.lose(reason),
        // Held only on a connection of the client's own (transparent mode): on the shared one every
        // other client would wait for one that stopped acknowledging. While a SUBACK is awaited it
        // may come behind the messages on the same connection: they go in beyond the bound (the
        // memory limits still apply) rather than be refused, until it has come.
        whenFull: () => (host.options.mode !== 'transparent' ? 'refuse' : this.subscribing === 0 ? 'hold' : 'over'),
        // While a client with a persistent session sleeps, the broker keeps its messages: they
        // outlive this gateway, and another gateway takes them over when the client comes back there.
        keepAtBroker: () => host.options.mode === 'transparent' && !this.cleanSession && this.state === 'asleep',
      },
      this.registry,
    );
    const { retry } = host.options;
    const lifetime = (): number => copyLifetimeMs(retry.interval, retry.count);
    this.releasedQos2 = new RecentIds(lifetime, RECENT_IDS_LIMIT);
    this.acknowledgedQos1 = new RecentIds(lifetime, RECENT_IDS_LIMIT);
    this.lastSeen = host.timers.now();
    if (restored) for (const [filter, qos] of restored) this.subscriptions.set(filter, qos);
    this.link = createLink(this);
  }

  get queued(): number {
    return this.outbox.queued;
  }

  /** Octets of the messages queued for the client. */
  queuedBytes(): number {
    return this.outbox.queuedBytes();
  }

  /** New pre-defined topic ids (a configuration reload): the next PUBLISH uses them. */
  setPredefined(predefined: PredefinedIndex): void {
    this.registry.setPredefined(predefined);
  }

  /** Whether the client has been heard from within the silence its state allows (keep-alive, sleep, idle limit). */
  get alive(): boolean {
    return this.state !== 'ended' && this.host.timers.now() - this.lastSeen < this.silenceAllowedMs();
  }

  // ---------------------------------------------------------------- connect

  /**
   * Whether `packet` repeats the CONNECT this session accepted, with the same flags, within a
   * copy's lifetime on the wire and before anything else came from the client: a retransmission
   * whose CONNACK was lost, or a copy of it. Once the client has sent anything else, a CONNECT
   * cannot be told from a reconnect (the client may have started afresh) and is taken for one.
   */
  isCopyOfConnect(packet: Connect): boolean {
    const accepted = this.acceptedConnect;
    if (this.state !== 'active' || !accepted || this.heardSinceAccept) return false;
    const { retry } = this.host.options;
    return (
      packet.cleanSession === accepted.packet.cleanSession &&
      packet.duration === accepted.packet.duration &&
      packet.will === accepted.packet.will &&
      this.host.timers.now() - accepted.at < copyLifetimeMs(retry.interval, retry.count)
    );
  }

  answerConnectCopy(): void {
    this.touch();
    this.send({ type: 'CONNACK', returnCode: ReturnCode.ACCEPTED });
  }

  /** CONNECT: a new session, or the same client coming back (from sleep or cleanSession off). */
  connect(packet: Connect): void {
    this.lastConnect = packet;
    this.acceptedConnect = undefined;
    this.touch();
    this.cleanSession = packet.cleanSession;
    this.keepAlive = packet.duration;
    this.state = 'connecting';
    this.registry.clearNormal();
    this.outbox.reset();
    // A new connection may restart the client's message ids: an id released before says nothing now.
    this.releasedQos2.clear();
    this.acknowledgedQos1.clear();
    if (packet.cleanSession) this.clearWill();
    this.arm();
    if (packet.will) {
      this.willStep = 'topic';
      this.send({ type: 'WILLTOPICREQ' });
    } else {
      this.willStep = 'none';
      this.openUpstream();
    }
  }

  private openUpstream(): void {
    const will = this.will();
    const willText = willKey(will);
    const finish = (error?: Error): void => {
      if (this.state === 'ended') return;
      if (error) {
        this.host.log('warn', `client ${this.clientId}: broker refused the connection: ${error.message}`);
        this.send({ type: 'CONNACK', returnCode: ReturnCode.CONGESTION });
        this.end('refused', false);
        return;
      }
      this.state = 'active';
      if (this.lastConnect) this.acceptedConnect = { packet: this.lastConnect, at: this.host.timers.now() };
      this.heardSinceAccept = false;
      this.arm();
      this.send({ type: 'CONNACK', returnCode: ReturnCode.ACCEPTED });
      this.host.connected(this);
      this.host.changed?.(this);
      this.outbox.pump();
    };
    if (this.linkOpen) {
      if (willText === this.linkWill) finish();
      else this.link.setWill(will, finish);
      this.linkWill = willText;
      return;
    }
    if (this.opening) return; // a repeated CONNECT: the open under way answers it
    this.opening = true;
    this.linkWill = willText;
    this.link.open({ clientId: this.clientId, cleanSession: this.cleanSession, keepAlive: this.keepAlive, will }, (error) => {
      this.opening = false;
      if (error) return finish(error);
      this.linkOpen = true;
      // CONNACK once the broker has the kept subscriptions: what is published after it reaches the client.
      if (this.subscriptions.size > 0) this.link.restore(this.subscriptions, () => finish());
      else finish();
    });
  }

  private will(): Will | undefined {
    return this.willTopic ? { ...this.willTopic, payload: this.willPayload } : undefined;
  }

  private clearWill(): void {
    this.willTopic = undefined;
    this.willPayload = EMPTY;
  }

  // ---------------------------------------------------------------- inbound

  /**
   * What each packet from the client does (CONNECT excluded: the gateway routes
   * it to connect()). One table for every session, not one per session: a
   * gateway holds thousands.
   */
  private static readonly handlers: { [T in PacketType]?: (session: GatewaySession, packet: PacketOf<T>) => void } = {
    WILLTOPIC: (s, packet) => s.onWillTopic(packet),
    WILLMSG: (s, packet) => s.onWillMsg(packet),
    REGISTER: (s, packet) => s.onRegister(packet),
    REGACK: (s, packet) => s.outbox.onRegack(packet),
    PUBLISH: (s, packet) => s.onPublish(packet),
    PUBACK: (s, packet) => s.outbox.onPuback(packet),
    PUBREC: (s, packet) => s.outbox.onPubrec(packet),
    PUBREL: (s, packet) => s.onPubrel(packet),
    PUBCOMP: (s, packet) => s.outbox.onPubcomp(packet),
    SUBSCRIBE: (s, packet) => s.onSubscribe(packet),
    UNSUBSCRIBE: (s, packet) => s.onUnsubscribe(packet),
    PINGREQ: (s) => s.onPingreq(),
    PINGRESP: () => undefined,
    DISCONNECT: (s, packet) => s.onDisconnect(packet),
    WILLTOPICUPD: (s, packet) => s.onWillTopicUpd(packet),
    WILLMSGUPD: (s, packet) => s.onWillMsgUpd(packet),
  };

  /** A packet from the client. */
  handle(packet: Packet): void {
    if (this.state === 'ended') return;
    this.touch();
    this.heardSinceAccept = true;
    const handler = GatewaySession.handlers[packet.type] as ((session: GatewaySession, packet: Packet) => void) | undefined;
    if (handler) handler(this, packet);
    else this.host.log('debug', `client ${this.clientId}: ignored ${packet.type}`);
    this.host.changed?.(this);
  }

  private onWillTopic(packet: PacketOf<'WILLTOPIC'>): void {
    // In step 'message' this is a repeat (our WILLMSGREQ was lost): ask again.
    if (this.willStep === 'none') return;
    if (packet.willTopic === '') {
      this.clearWill();
      this.willStep = 'none';
      this.openUpstream();
      return;
    }
    if (this.nameRefused(packet.willTopic, 'will topic')) {
      // No broker takes a will on such a topic: refuse the connection rather than lose it later.
      this.send({ type: 'CONNACK', returnCode: ReturnCode.NOT_SUPPORTED });
      this.end('refused', false);
      return;
    }
    this.willTopic = { topic: packet.willTopic, qos: packet.qos, retain: packet.retain };
    this.willStep = 'message';
    this.send({ type: 'WILLMSGREQ' });
  }

  private onWillMsg(packet: PacketOf<'WILLMSG'>): void {
    if (this.willStep !== 'message') {
      // A repeat after our CONNACK was lost.
      if (this.state === 'active' && this.willTopic) this.send({ type: 'CONNACK', returnCode: ReturnCode.ACCEPTED });
      return;
    }
    this.willPayload = packet.willMsg;
    this.willStep = 'none';
    this.openUpstream();
  }

  private onRegister(packet: PacketOf<'REGISTER'>): void {
    const answer = (topicId: number, returnCode: number): void =>
      this.send({ type: 'REGACK', topicId, msgId: packet.msgId, returnCode });
    if (this.nameRefused(packet.topicName, 'REGISTER of')) return answer(0, ReturnCode.NOT_SUPPORTED);
    const id = this.topicIdFor(packet.topicName);
    answer(id ?? 0, id === undefined ? ReturnCode.CONGESTION : ReturnCode.ACCEPTED);
  }

  /** Whether a topic name (or filter) breaks the broker's rules; logged, the client gets a return code. */
  private nameRefused(topic: string, what: string, filter = false): boolean {
    const rules = this.host.options.topics;
    const fault = filter ? topicFilterFault(topic, rules) : topicNameFault(topic, rules);
    if (fault) this.host.log('debug', `client ${this.clientId}: ${what} ${JSON.stringify(topic.slice(0, 100))} refused: ${describeTopicFault(fault, rules)}`);
    return fault !== undefined;
  }

  /** A normal topic id for `name`; undefined (counted as congestion) when the client has its limit. */
  private topicIdFor(name: string): number | undefined {
    if (this.registry.idOf(name) === undefined && this.memoryRefuses(name)) return undefined;
    const id = this.registry.register(name);
    if (id === undefined) countCongestion(this.host.stats, 'topicsPerClient');
    return id;
  }

  /** The client refused a topic: an exact subscription counts as unsubscribed, a wildcard stays. */
  private onTopicRefused(name: string): void {
    if (this.subscriptions.delete(name)) this.link.unsubscribe(name, () => undefined);
    this.host.log('debug', `client ${this.clientId}: refused topic ${name}`);
  }

  /** The topic name a client's PUBLISH/SUBSCRIBE/UNSUBSCRIBE refers to, or undefined. */
  private topicOf(type: TopicIdTypeValue, topicId: number | string): string | undefined {
    // SHORT carries the name itself, and so does NORMAL in SUBSCRIBE/UNSUBSCRIBE.
    if (typeof topicId === 'string') return type === TopicIdType.PREDEFINED ? undefined : topicId;
    return type === TopicIdType.PREDEFINED ? this.registry.predefinedName(topicId) : this.registry.nameOf(topicId);
  }

  private onPublish(packet: PacketOf<'PUBLISH'>): void {
    const topicField = typeof packet.topicId === 'string' ? shortTopicToId(packet.topicId) : packet.topicId;
    const ack = (returnCode: number): void =>
      this.send({ type: 'PUBACK', topicId: topicField, msgId: packet.msgId, returnCode });
    if (this.state === 'connecting') return;
    const topic = this.topicOf(packet.topicIdType, packet.topicId);
    if (topic === undefined) return ack(ReturnCode.INVALID_TOPIC_ID);
    // Registered names were checked at REGISTER; a short name is checked here.
    if (typeof packet.topicId === 'string' && this.nameRefused(topic, 'PUBLISH to')) return ack(ReturnCode.NOT_SUPPORTED);
    const qos: SessionQoS = packet.qos === -1 ? 0 : packet.qos;
    const message: DownstreamMessage = { topic, payload: packet.payload, qos, retain: packet.retain };
    const stats = this.host.stats;
    if (qos === 0) {
      if (this.brokerUnavailable()) return;
      countUpstream(stats, packet.qos);
      this.link.publish(message, () => undefined);
      return;
    }
    if (qos === 1) {
      if (this.pendingQos1.has(packet.msgId)) return; // a DUP of one the broker has not confirmed yet
      if (this.acknowledgedQos1.has(packet.msgId, this.host.timers.now())) return ack(ReturnCode.ACCEPTED);
      if (this.brokerUnavailable() || this.upstreamFull()) return ack(ReturnCode.CONGESTION);
      this.pendingQos1.add(packet.msgId);
      countUpstream(stats, packet.qos);
      this.link.publish(message, (error) => {
        this.pendingQos1.delete(packet.msgId);
        if (this.state === 'ended') return;
        if (!error) this.acknowledgedQos1.add(packet.msgId, this.host.timers.now());
        ack(error ? ReturnCode.CONGESTION : ReturnCode.ACCEPTED);
      });
      return;
    }
    const known = this.qos2In.get(packet.msgId);
    if (known === 'received' || this.releasedQos2.has(packet.msgId, this.host.timers.now())) {
      return this.send({ type: 'PUBREC', msgId: packet.msgId });
    }
    if (known === 'pending') return;
    if (this.brokerUnavailable() || this.upstreamFull()) return ack(ReturnCode.CONGESTION);
    this.qos2In.set(packet.msgId, 'pending');
    countUpstream(stats, packet.qos);
    this.link.publish(message, (error) => {
      if (this.state === 'ended') return;
      if (error) {
        this.qos2In.delete(packet.msgId);
        return ack(ReturnCode.CONGESTION);
      }
      this.qos2In.set(packet.msgId, 'received');
      this.send({ type: 'PUBREC', msgId: packet.msgId });
    });
  }

  /**
   * Whether the broker connection is being made again (counted as congestion): the client is
   * answered "congestion", waits its CongestionDelay and sends again.
   */
  private brokerUnavailable(): boolean {
    if (this.link.available) return false;
    countCongestion(this.host.stats, 'brokerUnavailable');
    return true;
  }

  /** Whether maxInFlight client publishes already wait for the broker (counted as congestion). */
  private upstreamFull(): boolean {
    let pending = this.pendingQos1.size;
    for (const stage of this.qos2In.values()) if (stage === 'pending') pending++;
    if (pending < this.host.options.limits.maxInFlight) return false;
    countCongestion(this.host.stats, 'maxInFlight');
    return true;
  }

  private onPubrel(packet: PacketOf<'PUBREL'>): void {
    const stage = this.qos2In.get(packet.msgId);
    if (stage === 'pending') return; // PUBREC not sent yet: the client will repeat
    if (stage === 'received') {
      this.qos2In.delete(packet.msgId);
      this.releasedQos2.add(packet.msgId, this.host.timers.now());
    }
    this.send({ type: 'PUBCOMP', msgId: packet.msgId });
  }

  private onSubscribe(packet: PacketOf<'SUBSCRIBE'>): void {
    const answer = (qos: SessionQoS, topicId: number, returnCode: number): void =>
      this.send({ type: 'SUBACK', qos, topicId, msgId: packet.msgId, returnCode });
    const filter = this.topicOf(packet.topicIdType, packet.topicId);
    const predefinedId = packet.topicIdType === TopicIdType.PREDEFINED ? (packet.topicId as number) : 0;
    if (filter === undefined) return answer(0, predefinedId, ReturnCode.INVALID_TOPIC_ID);
    if (this.nameRefused(filter, 'SUBSCRIBE to', true)) return answer(0, 0, ReturnCode.NOT_SUPPORTED);
    // Wildcard filters take no topic id: the same limit bounds how many a client holds.
    if (!this.subscriptions.has(filter) && this.memoryRefuses(filter)) return answer(0, 0, ReturnCode.CONGESTION);
    if (!this.subscriptions.has(filter) && this.subscriptions.size + this.subscribing >= this.host.options.limits.topicsPerClient) {
      countCongestion(this.host.stats, 'topicsPerClient');
      return answer(0, 0, ReturnCode.CONGESTION);
    }
    if (this.brokerUnavailable()) return answer(0, 0, ReturnCode.CONGESTION);
    let topicId = predefinedId;
    if (packet.topicIdType === TopicIdType.NORMAL && !hasWildcard(filter)) {
      const id = this.topicIdFor(filter);
      if (id === undefined) return answer(0, 0, ReturnCode.CONGESTION);
      topicId = id;
    }
    this.subscribing++;
    this.outbox.pump(); // messages waiting for room are taken in: the SUBACK may queue behind them
    this.link.subscribe(filter, packet.qos, (granted) => {
      this.subscribing--;
      if (this.state === 'ended') return;
      if (granted > 2) {
        answer(0, topicId, ReturnCode.NOT_SUPPORTED);
      } else {
        this.subscriptions.set(filter, granted as SessionQoS);
        this.outbox.allow(filter);
        answer(granted as SessionQoS, topicId, ReturnCode.ACCEPTED);
        this.host.changed?.(this);
      }
      this.outbox.pump();
    });
  }

  private onUnsubscribe(packet: PacketOf<'UNSUBSCRIBE'>): void {
    const filter = this.topicOf(packet.topicIdType, packet.topicId);
    const done = (): void => {
      if (this.state !== 'ended') this.send({ type: 'UNSUBACK', msgId: packet.msgId });
    };
    // A filter the broker would not take was never subscribed: it must not reach the broker either.
    if (filter === undefined || topicFilterFault(filter, this.host.options.topics)) return done();
    this.subscriptions.delete(filter);
    this.link.unsubscribe(filter, done);
  }

  private onPingreq(): void {
    if (this.state === 'asleep' || this.state === 'awake') {
      this.state = 'awake';
      this.outbox.pump();
      return;
    }
    this.send({ type: 'PINGRESP' });
  }

  private onDisconnect(packet: PacketOf<'DISCONNECT'>): void {
    this.send({ type: 'DISCONNECT' });
    if (packet.duration === undefined || this.state === 'connecting') {
      this.end('disconnected', false);
      return;
    }
    this.sleepSeconds = packet.duration;
    this.state = 'asleep';
    this.outbox.requeue();
    this.outbox.pump();
    this.arm();
    this.host.log('debug', `client ${this.clientId} sleeps for ${packet.duration} s`);
  }

  private onWillTopicUpd(packet: PacketOf<'WILLTOPICUPD'>): void {
    if (packet.willTopic === '') {
      this.clearWill();
    } else if (!this.nameRefused(packet.willTopic, 'will update to')) {
      this.willTopic = { topic: packet.willTopic, qos: packet.qos, retain: packet.retain };
    } else {
      this.send({ type: 'WILLTOPICRESP', returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    this.updateWill('WILLTOPICRESP');
  }

  private onWillMsgUpd(packet: PacketOf<'WILLMSGUPD'>): void {
    this.willPayload = packet.willMsg;
    this.updateWill('WILLMSGRESP');
  }

  /** Hands the changed will to the broker side, then answers with `response`. */
  private updateWill(response: 'WILLTOPICRESP' | 'WILLMSGRESP'): void {
    const will = this.will();
    const key = willKey(will);
    // Nothing changed: no reason to touch the broker side (a reconnect in transparent mode).
    if (key === this.linkWill) return this.send({ type: response, returnCode: ReturnCode.ACCEPTED });
    this.linkWill = key;
    this.link.setWill(will, (error) => {
      if (this.state !== 'ended') this.send({ type: response, returnCode: error ? ReturnCode.CONGESTION : ReturnCode.ACCEPTED });
    });
  }

  // ---------------------------------------------------------------- outbound

  /** A message from the broker for this client. */
  deliver(message: DownstreamMessage, accepted: () => void): void {
    if (this.state === 'ended') return this.outbox.add(message, accepted);
    const verdict = this.takeMemory(messageBytes(message));
    if (verdict !== 'ok') {
      if (message.qos === 0) this.host.stats.droppedQos0++;
      else this.host.stats.refusedQos12++;
      this.host.log(message.qos === 0 ? 'debug' : 'warn', `client ${this.clientId}: ${verdict} reached, a QoS ${message.qos} message on ${message.topic} refused`);
      accepted();
      return;
    }
    this.outbox.add(message, accepted);
    this.host.changed?.(this);
  }

  /** What the session store keeps of this session (its address is the gateway's to add). */
  snapshot(): Omit<StoredSession, 'asleep'> & { sleepSeconds?: number } {
    const will = this.will();
    return {
      clientId: this.clientId,
      subscriptions: [...this.subscriptions],
      messages: this.outbox.pending(),
      ...(will ? { will } : {}),
      keepAlive: this.keepAlive,
      ...(this.state === 'asleep' || this.state === 'awake' ? { sleepSeconds: this.sleepSeconds } : {}),
    };
  }

  /** Messages a stored session held: queued in front, to go out once the client can receive. */
  restoreMessages(messages: DownstreamMessage[]): void {
    this.outbox.restoreMessages(messages);
  }

  /**
   * A stored session of a sleeping client, after a gateway restart: asleep again, its
   * subscriptions made again and its messages queued, as if the gateway had never stopped.
   */
  resumeAsleep(stored: StoredSession & { asleep: NonNullable<StoredSession['asleep']> }, subscribed: () => void): void {
    this.cleanSession = false;
    this.keepAlive = stored.keepAlive;
    this.sleepSeconds = stored.asleep.seconds;
    if (stored.will) {
      const { payload, ...topic } = stored.will;
      this.willTopic = topic;
      this.willPayload = payload;
    }
    this.state = 'asleep';
    this.restoreMessages(stored.messages);
    const will = this.will();
    this.linkWill = willKey(will);
    this.opening = true;
    this.link.open({ clientId: this.clientId, cleanSession: false, keepAlive: this.keepAlive, will }, (error) => {
      this.opening = false;
      if (error || this.state === 'ended') return subscribed();
      this.linkOpen = true;
      this.link.restore(this.subscriptions, subscribed);
    });
    this.touch();
    this.arm();
  }

  /** Octets this session holds: queued messages, registered topic names, subscription filters. */
  memoryBytes(): number {
    return this.outbox.queuedBytes() + this.registry.bytes + this.subscriptions.bytes;
  }

  private takeMemory(bytes: number): 'ok' | 'sessionBytes' | 'totalBytes' {
    return this.host.takeMemory?.(this.memoryBytes(), bytes) ?? 'ok';
  }

  /** Whether a new topic name or filter fits the memory limits; counted as congestion when not. */
  private memoryRefuses(topic: string): boolean {
    const verdict = this.takeMemory(topic.length);
    if (verdict === 'ok') return false;
    countCongestion(this.host.stats, verdict);
    this.host.log('warn', `client ${this.clientId}: ${verdict} reached, ${JSON.stringify(topic.slice(0, 100))} refused`);
    return true;
  }

  upstreamLost(reason: string): void {
    if (this.state === 'ended') return;
    this.host.log('warn', `client ${this.clientId}: broker connection lost (${reason})`);
    this.send({ type: 'DISCONNECT' });
    this.end('upstream', false);
  }

  upstreamResumed(sessionPresent: boolean): void {
    // The broker redelivers what it was not told arrived: the copies still waiting here go.
    if (sessionPresent) this.outbox.discardWaiting();
  }

  private onOutboxIdle(): void {
    if (this.state !== 'awake') return;
    // Everything buffered went out: answer the wake-up PINGREQ and sleep again.
    this.send({ type: 'PINGRESP' });
    this.state = 'asleep';
    this.arm();
  }

  private send(packet: Packet): void {
    this.host.send(this, packet);
  }

  // ---------------------------------------------------------------- supervision

  private touch(): void {
    this.lastSeen = this.host.timers.now();
  }

  /** How long the client may stay silent in its current state (Infinity: not supervised). */
  private silenceAllowedMs(): number {
    const { retry, keepAliveTolerance } = this.host.options;
    switch (this.state) {
      case 'connecting':
        return Math.max(retry.interval * (retry.count + 1), toleranceMs(this.keepAlive, keepAliveTolerance));
      case 'active':
        return this.keepAlive > 0 ? toleranceMs(this.keepAlive, keepAliveTolerance) : this.host.options.limits.maxIdle * 1000;
      case 'asleep':
      case 'awake':
        return this.sleepSeconds > 0 ? toleranceMs(this.sleepSeconds, keepAliveTolerance) : this.host.options.limits.maxIdle * 1000;
      default:
        return Infinity;
    }
  }

  /** (Re)starts the supervision timer for the current state. */
  private arm(): void {
    this.host.timers.clear(this.superviseTimer);
    this.superviseTimer = undefined;
    const allowed = this.silenceAllowedMs();
    if (allowed === Infinity) return;
    const wait = Math.max(0, this.lastSeen + allowed - this.host.timers.now());
    this.superviseTimer = this.host.timers.set(() => this.supervise(), wait);
  }

  private supervise(): void {
    this.superviseTimer = undefined;
    if (this.state === 'ended') return;
    const allowed = this.silenceAllowedMs();
    if (this.host.timers.now() - this.lastSeen >= allowed) {
      this.lose(`silent for ${Math.round(allowed)} ms`);
      return;
    }
    this.arm();
  }

  /** The client is lost (v1.2 §6.14): the session ends and its will is published. */
  private lose(reason: string): void {
    if (this.state === 'ended') return;
    this.host.stats.lost++;
    this.host.log('info', `client ${this.clientId} lost (${reason})`);
    this.end('lost', true);
  }

  // ---------------------------------------------------------------- end

  /** Ends the session: the gateway shuts down or the client id connected again elsewhere. */
  terminate(reason: EndReason): void {
    if (this.state !== 'ended') this.end(reason, false);
  }

  private end(reason: EndReason, publishWill: boolean): void {
    this.state = 'ended';
    this.host.timers.clear(this.superviseTimer);
    this.outbox.close();
    this.link.close(publishWill);
    this.host.ended(this, reason);
    this.host.changed?.(this);
  }
}
