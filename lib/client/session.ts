/**
 * The client protocol state machine (MQTT-SN v1.2, client side). Pure logic:
 * packets and time go in, packets and events come out through a sink. No
 * sockets and no real timers: every deadline lives in a TimerQueue and the
 * I/O layer calls tick() when nextDeadline() is reached.
 *
 * Each request the user makes is an Operation: the packet to (re)send, its
 * retransmission count (T_retry / N_retry), an overall deadline, and the
 * callbacks that settle the user's promise. One handler per incoming packet
 * type matches replies to operations.
 */
import { ErrorCode, MqttSnError, errorForReturnCode } from '../errors';
import type { Packet, PacketOf, PacketType, Publish } from '../codec/packets';
import type { TimerQueue } from '../timers/types';
import type { ClientSettings } from './config';
import { InFlightWindow } from './inflight';
import { TopicTable, type Subscription } from './topics';
import type {
  ClientState,
  LogType,
  MessageInEvent,
  MqttSnClientEvents,
  SubscribeResult,
  TopicIdTypeArg,
  TopicRef,
} from './types';

/** What the state machine needs from the layer above. */
export interface SessionSink {
  /** Sends a packet to the current gateway; throws MqttSnError when it cannot be encoded. */
  send(packet: Packet): void;
  emit<K extends keyof MqttSnClientEvents>(event: K, ...args: MqttSnClientEvents[K]): void;
  log(level: number, type: LogType, message: string): void;
  /**
   * The gateway stopped answering. Return true to try another one: the
   * outstanding operations are kept until reconnect() or abandon() is called.
   */
  gatewayLost(reason: MqttSnError): boolean;
}

export interface WillParams {
  topic: string;
  message: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface ConnectParams {
  clientId: string;
  cleanSession: boolean;
  /** Seconds, 0..65535. */
  keepAlive: number;
  will: WillParams | undefined;
}

export interface PublishParams {
  topicId: number | string;
  topicIdType: TopicIdTypeArg;
  qos: -1 | 0 | 1 | 2;
  payload: Buffer;
  retain: boolean;
  dup: boolean;
}

type OpKind =
  | 'connect'
  | 'register'
  | 'publish'
  | 'subscribe'
  | 'unsubscribe'
  | 'ping'
  | 'sleep'
  | 'retrieve'
  | 'wake'
  | 'disconnect'
  | 'willTopic'
  | 'willMsg';

interface Operation {
  readonly timerId: number;
  readonly kind: OpKind;
  /** The packet sent last, resent on T_retry. */
  packet: Packet | undefined;
  msgId: number;
  /** Retransmissions so far. */
  attempts: number;
  /** When the next retransmission is due, or the congestion pause ends. */
  retryAt: number;
  /** The end of the caller's patience (Infinity: none). */
  deadline: number;
  /** The error to report if the deadline passes (congestion, say). */
  lastError: MqttSnError | undefined;
  /** Retransmission interval, ms. */
  interval: number;
  window: InFlightWindow<Operation> | undefined;
  /** QoS 2 publish: PUBREC came, PUBREL is out. */
  released: boolean;
  /** Publish with a registered id: the name behind it, to re-register after "invalid topic id". */
  topicName: string | undefined;
  /** Sent at least once (DUP on a resend after a failover). */
  sent: boolean;
  /** Started by the client itself (keep-alive ping, failover restore). */
  internal: boolean;
  /** Messages delivered while a retrieve is running. */
  delivered: number;
  resolve(value: unknown): void;
  reject(error: MqttSnError): void;
}

/** Fixed timer ids; operations use ids from FIRST_OP_TIMER up. */
const KEEPALIVE_TIMER = 1;
const SLEEP_TIMER = 2;
const FIRST_OP_TIMER = 16;
const MAX_OP_TIMER = 0x7fffffff;
/** Inbound QoS 1 message ids remembered to drop redelivered duplicates. */
const RECENT_QOS1_LIMIT = 64;

export type Handler<T extends PacketType> = (packet: PacketOf<T>) => void;

export class ClientSession {
  private stateValue: ClientState = 'disconnected';
  private readonly ops = new Map<number, Operation>();
  private readonly byMsgId = new Map<number, Operation>();
  private nextTimerId = FIRST_OP_TIMER;
  private nextMsgId = 1;
  private lastSentAt = 0;
  private params: ConnectParams | undefined;
  private sleepDuration = 0;
  /** Operations kept across a lost gateway while the layer above fails over. */
  private suspended: Operation[] = [];
  private readonly inboundQos2 = new Map<number, MessageInEvent>();
  private readonly recentQos1: number[] = [];
  readonly topics: TopicTable;
  private readonly publishWindow: InFlightWindow<Operation>;
  private readonly registerWindow = new InFlightWindow<Operation>(() => 1);
  private readonly subscribeWindow = new InFlightWindow<Operation>(() => 1);
  private readonly willTopicWindow = new InFlightWindow<Operation>(() => 1);
  private readonly willMsgWindow = new InFlightWindow<Operation>(() => 1);

  constructor(
    private readonly sink: SessionSink,
    private readonly settings: ClientSettings,
    private readonly timers: TimerQueue,
    private readonly now: () => number,
    private readonly timeoutSeconds: () => number,
  ) {
    this.topics = new TopicTable(() => settings.predefinedTopics);
    this.publishWindow = new InFlightWindow<Operation>(() => settings.maxInFlight);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** True while a session with the gateway exists (active, asleep or awake). */
  get connected(): boolean {
    return this.stateValue === 'active' || this.stateValue === 'asleep' || this.stateValue === 'awake';
  }

  /** QoS 1/2 publishes sent and not yet acknowledged. */
  get inFlight(): number {
    return this.publishWindow.runningCount;
  }

  /** Earliest deadline the I/O layer must call tick() at (Infinity: none). */
  nextDeadline(): number {
    return this.timers.nextDeadline();
  }

  // ---------------------------------------------------------------- requests

  connect(params: ConnectParams, resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (this.stateValue !== 'disconnected') {
      reject(new MqttSnError(ErrorCode.UDP_ALREADY_ACTIVE, 'Already connected or connecting to a gateway.'));
      return;
    }
    this.params = params;
    if (params.cleanSession) {
      this.topics.clear();
      this.inboundQos2.clear();
    }
    this.setState('connecting');
    const op = this.newOp('connect', resolve, reject, this.settings.connectionTimeout);
    this.start(op, {
      type: 'CONNECT',
      will: params.will !== undefined,
      cleanSession: params.cleanSession,
      duration: params.keepAlive,
      clientId: params.clientId,
    });
  }

  register(topicName: string, resolve: (id: number) => void, reject: (e: MqttSnError) => void, internal = false): void {
    if (!this.requireActive(reject)) return;
    const op = this.newOp('register', resolve as (v: unknown) => void, reject);
    op.topicName = topicName;
    op.internal = internal;
    op.window = this.registerWindow;
    if (this.registerWindow.admit(op)) this.startRegister(op);
  }

  publish(params: PublishParams, resolve: () => void, reject: (e: MqttSnError) => void): void {
    const packet: Publish = {
      type: 'PUBLISH',
      dup: params.dup,
      qos: params.qos,
      retain: params.retain,
      topicIdType: params.topicIdType,
      topicId: params.topicIdType === 0 ? this.topics.current(params.topicId as number) : params.topicId,
      msgId: 0,
      payload: params.payload,
    };
    if (params.qos === -1) {
      // Connectionless: goes to the configured gateway whatever the state.
      this.sendOrReject(packet, resolve, reject);
      return;
    }
    if (!this.requireActive(reject)) return;
    if (params.qos === 0) {
      this.sendOrReject(packet, resolve, reject);
      return;
    }
    const op = this.newOp('publish', resolve as (v: unknown) => void, reject);
    op.packet = packet;
    op.window = this.publishWindow;
    if (params.topicIdType === 0) op.topicName = this.topics.nameOf(packet.topicId, 0);
    if (this.publishWindow.admit(op)) this.startPublish(op);
  }

  subscribe(
    topic: TopicRef,
    topicIdType: TopicIdTypeArg,
    qos: 0 | 1 | 2,
    resolve: (result: SubscribeResult) => void,
    reject: (e: MqttSnError) => void,
    internal = false,
  ): void {
    if (!this.requireActive(reject)) return;
    const op = this.newOp('subscribe', resolve as (v: unknown) => void, reject);
    op.internal = internal;
    op.window = this.subscribeWindow;
    op.packet = { type: 'SUBSCRIBE', dup: this.settings.subscribeDup, qos, topicIdType, msgId: 0, topicId: topic };
    if (this.subscribeWindow.admit(op)) this.startWithMsgId(op);
  }

  unsubscribe(topic: TopicRef, topicIdType: TopicIdTypeArg, resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (!this.requireActive(reject)) return;
    const op = this.newOp('unsubscribe', resolve as (v: unknown) => void, reject);
    op.window = this.subscribeWindow;
    op.packet = { type: 'UNSUBSCRIBE', topicIdType, msgId: 0, topicId: topic };
    if (this.subscribeWindow.admit(op)) this.startWithMsgId(op);
  }

  ping(resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (!this.requireActive(reject)) return;
    this.startPing(resolve, reject, false);
  }

  updateWillTopic(will: { topic: string; qos: 0 | 1 | 2; retain: boolean }, resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (!this.requireActive(reject)) return;
    const op = this.newOp('willTopic', resolve as (v: unknown) => void, reject);
    op.window = this.willTopicWindow;
    op.packet = { type: 'WILLTOPICUPD', qos: will.qos, retain: will.retain, willTopic: will.topic };
    if (this.params) {
      this.params.will = will.topic === '' ? undefined : { ...will, message: this.params.will?.message ?? Buffer.alloc(0) };
    }
    if (this.willTopicWindow.admit(op)) this.start(op, op.packet);
  }

  updateWillMessage(message: Buffer, resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (!this.requireActive(reject)) return;
    const op = this.newOp('willMsg', resolve as (v: unknown) => void, reject);
    op.window = this.willMsgWindow;
    op.packet = { type: 'WILLMSGUPD', willMsg: message };
    if (this.params?.will) this.params.will.message = message;
    if (this.willMsgWindow.admit(op)) this.start(op, op.packet);
  }

  /** DISCONNECT with a duration: asleep once the gateway answers. Also changes the duration while asleep. */
  sleep(duration: number, resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (this.stateValue !== 'active' && this.stateValue !== 'asleep' && this.stateValue !== 'awake') {
      reject(this.notConnected());
      return;
    }
    if (this.hasOp('sleep') || this.hasOp('retrieve') || this.hasOp('wake')) {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, 'A sleep state change is already in progress.'));
      return;
    }
    const op = this.newOp('sleep', resolve as (v: unknown) => void, reject);
    this.sleepDuration = duration;
    this.start(op, { type: 'DISCONNECT', duration });
  }

  /** Asleep -> awake: PINGREQ with the client id; buffered messages arrive, PINGRESP sends the client back to sleep. */
  retrieve(resolve: (delivered: number) => void, reject: (e: MqttSnError) => void): void {
    if (this.stateValue !== 'asleep' || this.hasOp('retrieve') || this.hasOp('wake')) {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, 'retrieveMessages() needs the client asleep (call startSleep first).'));
      return;
    }
    const op = this.newOp('retrieve', resolve as (v: unknown) => void, reject);
    this.setState('awake');
    this.start(op, { type: 'PINGREQ', clientId: this.params?.clientId ?? '' });
  }

  /** Asleep/awake -> active: CONNECT keeping the session, then keep-alive again. */
  wake(resolve: () => void, reject: (e: MqttSnError) => void): void {
    if ((this.stateValue !== 'asleep' && this.stateValue !== 'awake') || this.hasOp('wake') || !this.params) {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, 'stopSleep() needs the client asleep.'));
      return;
    }
    const retrieve = this.findOp('retrieve');
    if (retrieve) {
      // Waking up ends the collection: what is still buffered arrives in the active state.
      this.endOp(retrieve);
      retrieve.resolve(retrieve.delivered);
    }
    const op = this.newOp('wake', resolve as (v: unknown) => void, reject, this.settings.connectionTimeout);
    this.start(op, {
      type: 'CONNECT',
      will: false,
      cleanSession: false,
      duration: this.params.keepAlive,
      clientId: this.params.clientId,
    });
  }

  disconnect(resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (this.stateValue === 'connecting') {
      this.finishDisconnected(new MqttSnError(ErrorCode.ABORTED, 'Connection attempt cancelled by disconnect().'), 0, 'OK');
      resolve();
      return;
    }
    if (!this.connected) {
      if (this.stateValue === 'disconnecting') {
        reject(new MqttSnError(ErrorCode.WRONG_STATE, 'A disconnect is already in progress.'));
        return;
      }
      this.abandon(new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'));
      resolve();
      return;
    }
    const op = this.newOp('disconnect', resolve as (v: unknown) => void, reject);
    this.setState('disconnecting');
    this.timers.cancel(KEEPALIVE_TIMER);
    this.timers.cancel(SLEEP_TIMER);
    this.start(op, { type: 'DISCONNECT' });
  }

  /**
   * After gatewayLost() returned true and the layer above pointed the sink at
   * another gateway: connect there, register the client's topic names again,
   * restore the subscriptions and resend what was in flight.
   */
  reconnect(resolve: () => void, reject: (e: MqttSnError) => void): void {
    if (!this.params) {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, 'Nothing to reconnect.'));
      return;
    }
    const wantedClean = this.params.cleanSession;
    const params = { ...this.params, cleanSession: true };
    const ownNames = this.topics.forgetForNewGateway();
    const subscriptions = [...this.topics.subscriptions.values()];
    this.topics.subscriptions.clear();
    this.stateValue = 'disconnected';
    this.connect(
      params,
      () => {
        this.params = { ...params, cleanSession: wantedClean };
        void this.restore(ownNames, subscriptions).then(resolve, reject);
      },
      reject,
    );
  }

  /** Rejects everything kept across a lost gateway. */
  abandon(reason: MqttSnError): void {
    const kept = this.suspended;
    this.suspended = [];
    for (const op of kept) op.reject(reason);
  }

  /** The session as if new: every operation rejected, every table cleared. */
  reset(): void {
    this.finishDisconnected(new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'), -1, '');
    this.abandon(new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'));
    this.topics.clear();
    this.inboundQos2.clear();
    this.recentQos1.length = 0;
    this.params = undefined;
    this.timers.clear();
  }

  // ------------------------------------------------------------ input: time

  /** Runs every timer due at the current time. */
  tick(): void {
    const now = this.now();
    for (const id of this.timers.expire(now)) {
      if (id === KEEPALIVE_TIMER) this.onKeepAliveTimer(now);
      else if (id === SLEEP_TIMER) this.onSleepTimer();
      else {
        const op = this.ops.get(id);
        if (op) this.onOperationTimer(op, now);
      }
    }
  }

  // --------------------------------------------------------- input: packets

  private readonly handlers: { [K in PacketType]?: Handler<K> } = {
    CONNACK: (p) => this.onConnack(p),
    WILLTOPICREQ: () => this.onWillTopicReq(),
    WILLMSGREQ: () => this.onWillMsgReq(),
    REGISTER: (p) => this.onRegister(p),
    REGACK: (p) => this.onRegack(p),
    PUBLISH: (p) => this.onPublish(p),
    PUBACK: (p) => this.onPuback(p),
    PUBREC: (p) => this.onPubrec(p),
    PUBREL: (p) => this.onPubrel(p),
    PUBCOMP: (p) => this.onPubcomp(p),
    SUBACK: (p) => this.onSuback(p),
    UNSUBACK: (p) => this.onUnsuback(p),
    PINGREQ: () => this.onPingreq(),
    PINGRESP: () => this.onPingresp(),
    DISCONNECT: () => this.onDisconnect(),
    WILLTOPICRESP: (p) => this.onWillTopicResp(p),
    WILLMSGRESP: (p) => this.onWillMsgResp(p),
  };

  /** One packet from the gateway. */
  handle(packet: Packet): void {
    const handler = this.handlers[packet.type] as Handler<PacketType> | undefined;
    if (!handler) {
      this.sink.log(2, 'Packet', `Ignored unexpected ${packet.type} from the gateway.`);
      return;
    }
    if (this.stateValue === 'awake' && packet.type !== 'PINGRESP') {
      // While collecting buffered messages, any traffic restarts T_retry.
      const retrieve = this.findOp('retrieve');
      if (retrieve) this.scheduleRetry(retrieve, this.now() + retrieve.interval);
    }
    handler(packet);
  }

  private onConnack(p: PacketOf<'CONNACK'>): void {
    const op = this.findOp('connect') ?? this.findOp('wake');
    if (!op) {
      this.sink.log(2, 'Packet', 'Ignored a CONNACK with no connect in progress.');
      return;
    }
    this.endOp(op);
    if (p.returnCode !== 0) {
      const error = errorForReturnCode(p.returnCode, 'CONNECT');
      const refused = new MqttSnError(ErrorCode.CONNECTION_REFUSED, `Connection refused by the gateway: ${error.description}`);
      if (op.kind === 'wake') {
        op.reject(refused);
        return;
      }
      this.setState('disconnected');
      this.sink.emit('connected', { statusCode: refused.code, description: refused.description });
      op.reject(refused);
      return;
    }
    this.setState('active');
    this.timers.cancel(SLEEP_TIMER);
    this.armKeepAlive();
    if (op.kind === 'wake') {
      // Some gateways forget registered ids over a sleep: register the client's names again.
      this.sink.log(1, 'Session', 'Awake: back to the active state.');
      void this.restore(this.topics.ownEntries(), []).then(() => op.resolve(undefined), op.reject);
      return;
    }
    this.sink.emit('connected', { statusCode: 0, description: 'OK' });
    op.resolve(undefined);
  }

  private onWillTopicReq(): void {
    const op = this.findOp('connect');
    if (!op) return;
    const will = this.params?.will;
    this.resend(op, will
      ? { type: 'WILLTOPIC', qos: will.qos, retain: will.retain, willTopic: will.topic }
      : { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' });
  }

  private onWillMsgReq(): void {
    const op = this.findOp('connect');
    if (!op) return;
    this.resend(op, { type: 'WILLMSG', willMsg: this.params?.will?.message ?? Buffer.alloc(0) });
  }

  private onRegister(p: PacketOf<'REGISTER'>): void {
    const event = { topicId: p.topicId, topicName: p.topicName, returnCode: 0 };
    this.sink.emit('topicInfo', event);
    const returnCode = validReturnCode(event.returnCode);
    if (returnCode === 0) this.topics.set(p.topicId, p.topicName, false);
    this.trySend({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode });
  }

  private onRegack(p: PacketOf<'REGACK'>): void {
    const op = this.opForMsgId(p.msgId, 'register');
    if (!op) return;
    if (p.returnCode === 1) {
      this.pauseForCongestion(op, 'REGISTER');
      return;
    }
    this.endOp(op);
    if (p.returnCode !== 0) {
      op.reject(errorForReturnCode(p.returnCode, 'REGISTER'));
      return;
    }
    this.topics.set(p.topicId, op.topicName as string, true);
    op.resolve(p.topicId);
  }

  private onPublish(p: PacketOf<'PUBLISH'>): void {
    if (p.topicIdType === 0 && p.qos > 0 && this.topics.nameOf(p.topicId, 0) === undefined) {
      // An id this client never learnt: the gateway must register it first.
      this.trySend({ type: 'PUBACK', topicId: p.topicId as number, msgId: p.msgId, returnCode: 2 });
      this.sink.log(1, 'Packet', `Rejected a PUBLISH for unknown topic id ${String(p.topicId)}.`);
      return;
    }
    const event: MessageInEvent = {
      msgId: p.msgId,
      topicId: p.topicId,
      topicIdType: p.topicIdType,
      topicName: this.topics.nameOf(p.topicId, p.topicIdType),
      qos: p.qos,
      message: p.payload,
      retained: p.retain,
      duplicate: p.dup,
      returnCode: 0,
    };
    const rawTopicId = typeof p.topicId === 'number' ? p.topicId : Buffer.from(p.topicId, 'latin1').readUInt16BE(0);
    if (p.qos === 2) {
      // Exactly once: hold it until PUBREL; a duplicate PUBLISH only gets its PUBREC again.
      if (!this.inboundQos2.has(p.msgId)) this.inboundQos2.set(p.msgId, event);
      this.trySend({ type: 'PUBREC', msgId: p.msgId });
      return;
    }
    if (p.qos === 1) {
      if (p.dup && this.recentQos1.includes(p.msgId)) {
        this.trySend({ type: 'PUBACK', topicId: rawTopicId, msgId: p.msgId, returnCode: 0 });
        return;
      }
      this.deliver(event);
      const returnCode = validReturnCode(event.returnCode);
      if (returnCode === 0) this.rememberQos1(p.msgId);
      this.trySend({ type: 'PUBACK', topicId: rawTopicId, msgId: p.msgId, returnCode });
      return;
    }
    this.deliver(event);
  }

  private onPubrel(p: PacketOf<'PUBREL'>): void {
    const event = this.inboundQos2.get(p.msgId);
    this.inboundQos2.delete(p.msgId);
    this.trySend({ type: 'PUBCOMP', msgId: p.msgId });
    if (event) this.deliver(event);
  }

  private onPuback(p: PacketOf<'PUBACK'>): void {
    const op = this.opForMsgId(p.msgId, 'publish');
    if (!op) {
      if (p.returnCode !== 0) {
        const error = errorForReturnCode(p.returnCode, 'PUBLISH');
        this.emitError(error.code, error.description);
      }
      return;
    }
    if (p.returnCode === 0) {
      const packet = op.packet as Publish;
      if (packet.qos === 2) return; // a QoS 2 flow ends with PUBCOMP, not PUBACK
      this.endOp(op);
      op.resolve(undefined);
      return;
    }
    if (p.returnCode === 1) {
      this.pauseForCongestion(op, 'PUBLISH');
      return;
    }
    if (p.returnCode === 2 && (op.packet as Publish).topicIdType === 0 && op.topicName !== undefined) {
      this.reregisterAndRetry(op);
      return;
    }
    this.endOp(op);
    op.reject(errorForReturnCode(p.returnCode, 'PUBLISH'));
  }

  private onPubrec(p: PacketOf<'PUBREC'>): void {
    const op = this.opForMsgId(p.msgId, 'publish');
    if (op) {
      op.released = true;
      op.attempts = 0;
      this.resend(op, { type: 'PUBREL', msgId: p.msgId });
    } else {
      this.trySend({ type: 'PUBREL', msgId: p.msgId });
    }
  }

  private onPubcomp(p: PacketOf<'PUBCOMP'>): void {
    const op = this.opForMsgId(p.msgId, 'publish');
    if (!op || !op.released) return;
    this.endOp(op);
    op.resolve(undefined);
  }

  private onSuback(p: PacketOf<'SUBACK'>): void {
    const op = this.opForMsgId(p.msgId, 'subscribe');
    if (!op) return;
    if (p.returnCode === 1) {
      this.pauseForCongestion(op, 'SUBSCRIBE');
      return;
    }
    this.endOp(op);
    if (p.returnCode !== 0) {
      op.reject(errorForReturnCode(p.returnCode, 'SUBSCRIBE'));
      return;
    }
    const packet = op.packet as PacketOf<'SUBSCRIBE'>;
    const topicIdType = packet.topicIdType as TopicIdTypeArg;
    if (topicIdType === 0) {
      const name = String(packet.topicId);
      this.settings.subscribedTopicId = p.topicId;
      if (p.topicId !== 0 && !name.includes('#') && !name.includes('+')) this.topics.set(p.topicId, name, false);
    }
    const subscription: Subscription = { topic: packet.topicId, topicIdType, qos: packet.qos };
    this.topics.subscriptions.set(TopicTable.subscriptionKey(packet.topicId, topicIdType), subscription);
    op.resolve({ topicId: p.topicId, qos: p.qos });
  }

  private onUnsuback(p: PacketOf<'UNSUBACK'>): void {
    const op = this.opForMsgId(p.msgId, 'unsubscribe');
    if (!op) return;
    this.endOp(op);
    const packet = op.packet as PacketOf<'UNSUBSCRIBE'>;
    this.topics.subscriptions.delete(TopicTable.subscriptionKey(packet.topicId, packet.topicIdType as TopicIdTypeArg));
    op.resolve(undefined);
  }

  private onPingreq(): void {
    this.trySend({ type: 'PINGRESP' });
  }

  private onPingresp(): void {
    const retrieve = this.findOp('retrieve');
    if (retrieve) {
      this.endOp(retrieve);
      this.setState('asleep');
      this.armSleepTimer();
      retrieve.resolve(retrieve.delivered);
      return;
    }
    for (const op of [...this.ops.values()]) {
      if (op.kind !== 'ping') continue;
      this.endOp(op);
      op.resolve(undefined);
    }
  }

  private onDisconnect(): void {
    const sleep = this.findOp('sleep');
    if (sleep) {
      this.endOp(sleep);
      this.setState('asleep');
      this.timers.cancel(KEEPALIVE_TIMER);
      this.armSleepTimer();
      this.sink.log(1, 'Session', `Asleep for ${this.sleepDuration} s.`);
      sleep.resolve(undefined);
      return;
    }
    const disconnect = this.findOp('disconnect');
    if (disconnect) {
      this.endOp(disconnect);
      this.finishDisconnected(new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
      disconnect.resolve(undefined);
      return;
    }
    if (this.stateValue === 'disconnected') return;
    const reason = new MqttSnError(ErrorCode.NOT_CONNECTED, 'The gateway closed the connection.');
    this.finishDisconnected(reason, reason.code, reason.description);
  }

  private onWillTopicResp(p: PacketOf<'WILLTOPICRESP'>): void {
    this.settleWillUpdate('willTopic', p.returnCode, 'WILLTOPICUPD');
  }

  private onWillMsgResp(p: PacketOf<'WILLMSGRESP'>): void {
    this.settleWillUpdate('willMsg', p.returnCode, 'WILLMSGUPD');
  }

  // --------------------------------------------------------------- helpers

  private settleWillUpdate(kind: 'willTopic' | 'willMsg', returnCode: number, what: string): void {
    const op = this.findOp(kind);
    if (!op) return;
    this.endOp(op);
    if (returnCode === 0) op.resolve(undefined);
    else op.reject(errorForReturnCode(returnCode, what));
  }

  private deliver(event: MessageInEvent): void {
    const retrieve = this.findOp('retrieve');
    if (retrieve) retrieve.delivered++;
    this.sink.emit('messageIn', event);
  }

  private rememberQos1(msgId: number): void {
    this.recentQos1.push(msgId);
    if (this.recentQos1.length > RECENT_QOS1_LIMIT) this.recentQos1.shift();
  }

  private emitError(errorCode: number, description: string): void {
    this.sink.emit('error', { errorCode, description });
  }

  private setState(state: ClientState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.sink.log(3, 'Session', `State: ${state}.`);
  }

  private notConnected(): MqttSnError {
    return new MqttSnError(ErrorCode.NOT_CONNECTED);
  }

  /** Sending needs the active state: asleep/awake clients must stopSleep() first. */
  private requireActive(reject: (e: MqttSnError) => void): boolean {
    if (this.stateValue === 'active') return true;
    if (this.stateValue === 'asleep' || this.stateValue === 'awake') {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, `Not allowed while ${this.stateValue}: call stopSleep() first.`));
    } else {
      reject(this.notConnected());
    }
    return false;
  }

  private newOp(kind: OpKind, resolve: (v: unknown) => void, reject: (e: MqttSnError) => void, timeoutSeconds = this.timeoutSeconds()): Operation {
    const timerId = this.allocateTimerId();
    const op: Operation = {
      timerId,
      kind,
      packet: undefined,
      msgId: 0,
      attempts: 0,
      retryAt: Infinity,
      deadline: timeoutSeconds > 0 ? this.now() + timeoutSeconds * 1000 : Infinity,
      lastError: undefined,
      interval: (kind === 'ping' ? this.settings.pingTimeout : this.settings.retryInterval) * 1000,
      window: undefined,
      released: false,
      topicName: undefined,
      sent: false,
      internal: false,
      delivered: 0,
      resolve,
      reject,
    };
    this.ops.set(timerId, op);
    return op;
  }

  private allocateTimerId(): number {
    for (;;) {
      const id = this.nextTimerId;
      this.nextTimerId = id >= MAX_OP_TIMER ? FIRST_OP_TIMER : id + 1;
      if (!this.ops.has(id)) return id;
    }
  }

  private allocateMsgId(): number {
    for (;;) {
      const id = this.nextMsgId;
      this.nextMsgId = id >= 0xffff ? 1 : id + 1;
      if (!this.byMsgId.has(id)) return id;
    }
  }

  private hasOp(kind: OpKind): boolean {
    return this.findOp(kind) !== undefined;
  }

  private findOp(kind: OpKind): Operation | undefined {
    for (const op of this.ops.values()) if (op.kind === kind && op.packet !== undefined) return op;
    return undefined;
  }

  private opForMsgId(msgId: number, kind: OpKind): Operation | undefined {
    const op = this.byMsgId.get(msgId);
    return op && op.kind === kind ? op : undefined;
  }

  /** Sends the op's first packet and arms its retransmission timer. */
  private start(op: Operation, packet: Packet): void {
    op.packet = packet;
    try {
      this.send(packet);
    } catch (err) {
      this.endOp(op);
      op.reject(asError(err));
      return;
    }
    op.sent = true;
    this.scheduleRetry(op, this.now() + op.interval);
  }

  private startWithMsgId(op: Operation): void {
    const packet = op.packet as PacketOf<'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PUBLISH' | 'REGISTER'>;
    op.msgId = this.allocateMsgId();
    this.byMsgId.set(op.msgId, op);
    this.start(op, { ...packet, msgId: op.msgId } as Packet);
  }

  private startRegister(op: Operation): void {
    op.packet = { type: 'REGISTER', topicId: 0, msgId: 0, topicName: op.topicName as string };
    this.startWithMsgId(op);
  }

  private startPublish(op: Operation): void {
    const packet = op.packet as Publish;
    if (packet.topicIdType === 0) packet.topicId = this.topics.current(packet.topicId as number);
    this.startWithMsgId(op);
  }

  private startPing(resolve: () => void, reject: (e: MqttSnError) => void, internal: boolean): void {
    const outstanding = this.findOp('ping');
    const op = this.newOp('ping', resolve as (v: unknown) => void, reject, internal ? 0 : this.timeoutSeconds());
    op.internal = internal;
    if (outstanding) {
      // One PINGREQ answers every ping waiting: ride along with the one in flight.
      op.packet = outstanding.packet;
      op.attempts = outstanding.attempts;
      this.scheduleRetry(op, outstanding.retryAt);
      return;
    }
    this.start(op, { type: 'PINGREQ' });
  }

  private resend(op: Operation, packet: Packet): void {
    op.packet = packet;
    this.trySend(packet);
    this.scheduleRetry(op, this.now() + op.interval);
  }

  private scheduleRetry(op: Operation, at: number): void {
    op.retryAt = at;
    this.timers.schedule(op.timerId, Math.min(at, op.deadline));
  }

  private send(packet: Packet): void {
    this.sink.send(packet);
    this.lastSentAt = this.now();
  }

  /** Sends a reply that has no caller to report to: failures become error events. */
  private trySend(packet: Packet): void {
    try {
      this.send(packet);
    } catch (err) {
      const error = asError(err);
      this.emitError(error.code, error.description);
    }
  }

  private sendOrReject(packet: Packet, resolve: () => void, reject: (e: MqttSnError) => void): void {
    try {
      this.send(packet);
    } catch (err) {
      reject(asError(err));
      return;
    }
    resolve();
  }

  /** Removes an op from every table and starts whatever its window admits next. */
  private endOp(op: Operation): void {
    this.ops.delete(op.timerId);
    this.timers.cancel(op.timerId);
    if (op.msgId !== 0 && this.byMsgId.get(op.msgId) === op) this.byMsgId.delete(op.msgId);
    if (op.window) for (const next of op.window.release(op)) this.startQueued(next);
  }

  private startQueued(op: Operation): void {
    if (op.kind === 'publish') this.startPublish(op);
    else if (op.kind === 'register') this.startRegister(op);
    else if (op.kind === 'subscribe' || op.kind === 'unsubscribe') this.startWithMsgId(op);
    else this.start(op, op.packet as Packet);
  }

  private pauseForCongestion(op: Operation, what: string): void {
    op.lastError = errorForReturnCode(1, what);
    this.sink.log(1, 'Packet', `${what} rejected for congestion; trying again in ${this.settings.congestionDelay} s.`);
    op.attempts = 0;
    this.scheduleRetry(op, this.now() + this.settings.congestionDelay * 1000);
  }

  /** PUBACK "invalid topic id" for a name the client knows: REGISTER it again, then publish with the new id. */
  private reregisterAndRetry(op: Operation): void {
    const name = op.topicName as string;
    const packet = op.packet as Publish;
    const oldId = packet.topicId as number;
    this.timers.cancel(op.timerId);
    this.topics.delete(oldId);
    this.sink.log(1, 'Packet', `Topic id ${oldId} unknown to the gateway: registering "${name}" again.`);
    this.register(
      name,
      (newId) => {
        if (!this.ops.has(op.timerId)) return;
        this.topics.rename(oldId, newId);
        packet.topicId = newId;
        op.attempts = 0;
        this.resend(op, { ...packet, dup: false });
      },
      (error) => {
        if (!this.ops.has(op.timerId)) return;
        this.endOp(op);
        op.reject(error);
      },
      true,
    );
  }

  private onOperationTimer(op: Operation, now: number): void {
    if (now >= op.deadline) {
      this.endOp(op);
      this.timeoutOp(op);
      return;
    }
    if (op.lastError && op.lastError.code === ErrorCode.REJECTED_CONGESTION && op.attempts === 0 && op.packet) {
      // The congestion pause is over: try again as a fresh send.
      op.lastError = undefined;
      op.attempts = 0;
      this.resend(op, op.packet);
      return;
    }
    if (op.attempts >= this.settings.retryCount) {
      this.retriesExhausted(op);
      return;
    }
    op.attempts++;
    const packet = op.packet as Packet;
    const again = packet.type === 'PUBLISH' || packet.type === 'SUBSCRIBE' ? { ...packet, dup: true } : packet;
    this.sink.log(2, 'Packet', `No answer to ${packet.type}: retransmission ${op.attempts} of ${this.settings.retryCount}.`);
    this.resend(op, again);
  }

  private timeoutOp(op: Operation): void {
    const error = op.lastError ?? new MqttSnError(ErrorCode.TIMEOUT, `Timed out waiting for the gateway to acknowledge ${op.packet?.type ?? op.kind}.`);
    if (op.kind === 'connect') {
      this.setState('disconnected');
      this.sink.emit('connected', { statusCode: error.code, description: error.description });
    } else if (op.kind === 'retrieve') {
      this.setState('asleep');
      this.armSleepTimer();
    } else if (op.kind === 'disconnect') {
      this.finishDisconnected(new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
      op.resolve(undefined);
      return;
    }
    op.reject(error);
  }

  private retriesExhausted(op: Operation): void {
    this.endOp(op);
    switch (op.kind) {
      case 'connect':
      case 'wake': {
        const error = new MqttSnError(ErrorCode.TIMEOUT, `No answer to CONNECT after ${this.settings.retryCount} retransmissions.`);
        if (op.kind === 'connect') {
          this.setState('disconnected');
          this.sink.emit('connected', { statusCode: error.code, description: error.description });
        }
        op.reject(error);
        return;
      }
      case 'disconnect':
        this.finishDisconnected(new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
        op.resolve(undefined);
        return;
      case 'retrieve':
        // Do not drain the battery on a silent gateway: back to sleep.
        this.setState('asleep');
        this.armSleepTimer();
        op.reject(new MqttSnError(ErrorCode.TIMEOUT, 'No PINGRESP while retrieving messages; back to sleep.'));
        return;
      default: {
        const reason = new MqttSnError(
          ErrorCode.GATEWAY_LOST,
          `The gateway is lost: no answer to ${op.packet?.type ?? op.kind} after ${this.settings.retryCount} retransmissions.`,
        );
        if (op.kind === 'ping' || op.internal) op.reject(reason);
        else this.suspended.push(op);
        this.loseGateway(reason);
      }
    }
  }

  /** Everything in flight is suspended; the layer above fails over or abandons. */
  private loseGateway(reason: MqttSnError): void {
    for (const op of [...this.ops.values()]) {
      this.endOpQuietly(op);
      if (op.kind === 'ping' || op.kind === 'sleep' || op.kind === 'retrieve' || op.kind === 'wake' || op.internal) {
        op.reject(reason);
      } else {
        this.suspended.push(op);
      }
    }
    for (const window of this.windows()) for (const op of window.clear()) if (!this.suspended.includes(op)) this.suspended.push(op);
    this.suspended.sort((a, b) => a.timerId - b.timerId);
    this.timers.cancel(KEEPALIVE_TIMER);
    this.timers.cancel(SLEEP_TIMER);
    this.setState('disconnected');
    this.sink.emit('disconnected', { statusCode: reason.code, description: reason.description });
    if (!this.sink.gatewayLost(reason)) this.abandon(reason);
  }

  private endOpQuietly(op: Operation): void {
    this.ops.delete(op.timerId);
    this.timers.cancel(op.timerId);
    if (op.msgId !== 0 && this.byMsgId.get(op.msgId) === op) this.byMsgId.delete(op.msgId);
  }

  private windows(): InFlightWindow<Operation>[] {
    return [this.publishWindow, this.registerWindow, this.subscribeWindow, this.willTopicWindow, this.willMsgWindow];
  }

  /** Ends the session: every outstanding op is rejected with `reason`, then `disconnected` fires (statusCode -1: silently). */
  private finishDisconnected(reason: MqttSnError, statusCode: number, description: string): void {
    const wasConnected = this.connected || this.stateValue === 'disconnecting';
    for (const op of [...this.ops.values()]) {
      this.endOpQuietly(op);
      if (op.kind === 'disconnect') continue;
      if (op.kind === 'connect') this.sink.emit('connected', { statusCode: reason.code, description: reason.description });
      op.reject(reason);
    }
    for (const window of this.windows()) window.clear();
    this.timers.cancel(KEEPALIVE_TIMER);
    this.timers.cancel(SLEEP_TIMER);
    this.setState('disconnected');
    if (wasConnected && statusCode >= 0) this.sink.emit('disconnected', { statusCode, description });
  }

  private async restore(ownNames: Map<string, number>, subscriptions: Subscription[]): Promise<void> {
    const registrations = [...ownNames].map(
      ([name, oldId]) =>
        new Promise<void>((resolve) => {
          this.register(
            name,
            (newId) => {
              this.topics.rename(oldId, newId);
              resolve();
            },
            () => resolve(),
            true,
          );
        }),
    );
    const resubscriptions = subscriptions.map(
      (s) =>
        new Promise<void>((resolve) => {
          this.subscribe(s.topic, s.topicIdType, s.qos, () => resolve(), () => resolve(), true);
        }),
    );
    await Promise.all([...registrations, ...resubscriptions]);
    const kept = this.suspended;
    this.suspended = [];
    for (const op of kept) this.resubmit(op);
  }

  /** A suspended op goes out again on the new gateway, with DUP set when it had been sent. */
  private resubmit(op: Operation): void {
    if (this.stateValue !== 'active') {
      op.reject(this.notConnected());
      return;
    }
    op.attempts = 0;
    op.released = false;
    op.msgId = 0;
    op.lastError = undefined;
    this.ops.set(op.timerId, op);
    const packet = op.packet;
    if (packet?.type === 'PUBREL') {
      // PUBREC came: the old gateway took the message over, sending it again could deliver it twice.
      this.ops.delete(op.timerId);
      op.resolve(undefined);
      return;
    }
    if (packet && (packet.type === 'PUBLISH' || packet.type === 'SUBSCRIBE')) op.packet = { ...packet, dup: op.sent };
    if (op.window && !op.window.admit(op)) return;
    this.startQueued(op);
  }

  private armKeepAlive(): void {
    const keepAlive = this.params?.keepAlive ?? 0;
    if (keepAlive > 0) this.timers.schedule(KEEPALIVE_TIMER, this.lastSentAt + keepAlive * 1000);
  }

  private onKeepAliveTimer(now: number): void {
    const keepAlive = this.params?.keepAlive ?? 0;
    if (this.stateValue !== 'active' || keepAlive <= 0) return;
    const due = this.lastSentAt + keepAlive * 1000;
    if (due > now) {
      this.timers.schedule(KEEPALIVE_TIMER, due);
      return;
    }
    this.startPing(() => undefined, () => undefined, true);
    this.timers.schedule(KEEPALIVE_TIMER, now + keepAlive * 1000);
  }

  private armSleepTimer(): void {
    // The gateway's tolerance: +50 % up to a minute, +10 % above.
    const tolerance = this.sleepDuration <= 60 ? 1.5 : 1.1;
    this.timers.schedule(SLEEP_TIMER, this.now() + this.sleepDuration * 1000 * tolerance);
  }

  private onSleepTimer(): void {
    if (this.stateValue !== 'asleep') return;
    const reason = new MqttSnError(
      ErrorCode.TIMEOUT,
      `Slept past the ${this.sleepDuration} s duration without waking: the gateway considers the client lost.`,
    );
    this.finishDisconnected(reason, reason.code, reason.description);
  }
}

function asError(err: unknown): MqttSnError {
  if (err instanceof MqttSnError) return err;
  return new MqttSnError(ErrorCode.SOCKET_ERROR, err instanceof Error ? err.message : String(err));
}

function validReturnCode(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255 ? value : 0;
}
