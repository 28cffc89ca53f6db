/**
 * What every flow shares: the session state, the operation table, the
 * in-flight windows, and the primitives that send, (re)arm and end an
 * operation. Pure logic: the sink does the I/O, the TimerQueue keeps time.
 */
import { ErrorCode, MqttSnError, errorForReturnCode } from '../../errors';
import type { Packet, PacketOf, Publish } from '../../codec/packets';
import type { TimerQueue } from '../../timers/types';
import type { ClientSettings } from '../config';
import { copyLifetimeMs, RecentIds } from '../../recent-ids';
import { InFlightWindow } from '../inflight';
import { TopicTable } from '../topics';
import type { ClientState, LogType, MessageInEvent, MqttSnClientEvents } from '../types';
import { OperationTable, type OpKind, type Operation } from './operation';

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

/** Released inbound QoS 2 message ids remembered at most. */
const RELEASED_QOS2_LIMIT = 1024;

export type Resolve<T = void> = (value: T) => void;
export type Reject = (error: MqttSnError) => void;

export class SessionCore {
  state: ClientState = 'disconnected';
  readonly ops = new OperationTable();
  lastSentAt = 0;
  /** When the last packet from the gateway arrived. */
  lastHeardAt = 0;
  /** The PINGREQ the keep-alive timer sent, while unanswered: it runs on the keep-alive schedule. */
  keepAliveCarrier: Operation | undefined;
  params: ConnectParams | undefined;
  sleepDuration = 0;
  /** Operations kept across a lost gateway while the layer above fails over. */
  suspended: Operation[] = [];
  /** Inbound QoS 2 messages held between PUBLISH and PUBREL, by message id. */
  readonly inboundQos2 = new Map<number, MessageInEvent>();
  /** Inbound QoS 1 message ids acknowledged lately, to drop redelivered duplicates. */
  readonly recentQos1: number[] = [];
  /** Inbound QoS 2 message ids released (delivered) lately: a late copy of one is not delivered again. */
  readonly releasedQos2: RecentIds;
  readonly topics: TopicTable;
  readonly publishWindow: InFlightWindow<Operation>;
  readonly registerWindow = new InFlightWindow<Operation>(() => 1);
  readonly subscribeWindow = new InFlightWindow<Operation>(() => 1);
  readonly willTopicWindow = new InFlightWindow<Operation>(() => 1);
  readonly willMsgWindow = new InFlightWindow<Operation>(() => 1);

  constructor(
    readonly sink: SessionSink,
    readonly settings: ClientSettings,
    readonly timers: TimerQueue,
    readonly now: () => number,
    readonly timeoutSeconds: () => number,
  ) {
    this.topics = new TopicTable(() => settings.predefinedTopics);
    this.publishWindow = new InFlightWindow<Operation>(() => settings.maxInFlight);
    this.releasedQos2 = new RecentIds(() => copyLifetimeMs(settings.retryInterval * 1000, settings.retryCount), RELEASED_QOS2_LIMIT);
  }

  /** True while a session with the gateway exists (active, asleep or awake). */
  get connected(): boolean {
    return this.state === 'active' || this.state === 'asleep' || this.state === 'awake';
  }

  setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.sink.log(3, 'Session', `State: ${state}.`);
  }

  notConnected(): MqttSnError {
    return new MqttSnError(ErrorCode.NOT_CONNECTED);
  }

  /** Sending needs the active state: asleep/awake clients must stopSleep() first. */
  requireActive(reject: Reject): boolean {
    if (this.state === 'active') return true;
    if (this.state === 'asleep' || this.state === 'awake') {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, `Not allowed while ${this.state}: call stopSleep() first.`));
    } else {
      reject(this.notConnected());
    }
    return false;
  }

  windows(): InFlightWindow<Operation>[] {
    return [this.publishWindow, this.registerWindow, this.subscribeWindow, this.willTopicWindow, this.willMsgWindow];
  }

  // ------------------------------------------------------------ operations

  newOp<T>(kind: OpKind, resolve: Resolve<T>, reject: Reject, timeoutSeconds = this.timeoutSeconds()): Operation {
    const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : Infinity;
    const op: Operation = {
      timerId: this.ops.allocateTimerId(),
      kind,
      packet: undefined,
      msgId: 0,
      attempts: 0,
      retryAt: Infinity,
      deadline: this.now() + timeoutMs,
      timeoutMs,
      lastError: undefined,
      // A PINGREQ is resent after PingTimeout, but never waits longer than T_retry (MQTT-SN §6.13).
      interval: (kind === 'ping' ? Math.min(this.settings.pingTimeout, this.settings.retryInterval) : this.settings.retryInterval) * 1000,
      window: undefined,
      released: false,
      topicName: undefined,
      sent: false,
      internal: false,
      delivered: 0,
      resolve: resolve as (value: unknown) => void,
      reject,
    };
    this.ops.add(op);
    return op;
  }

  hasOp(kind: OpKind): boolean {
    return this.ops.find(kind) !== undefined;
  }

  /** Sends the op's first packet and arms its retransmission timer. */
  start(op: Operation, packet: Packet): void {
    op.packet = packet;
    try {
      this.send(packet);
    } catch (err) {
      this.endOp(op);
      op.reject(asError(err));
      return;
    }
    op.sent = true;
    this.extendDeadline(op);
    this.scheduleRetry(op, this.now() + op.interval);
  }

  /** Starts an op whose packet carries a message id (a fresh one each start). */
  startWithMsgId(op: Operation): void {
    const packet = op.packet as PacketOf<'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PUBLISH' | 'REGISTER'>;
    this.ops.assignMsgId(op);
    this.start(op, { ...packet, msgId: op.msgId } as Packet);
  }

  /** Starts an op its window admitted (now, or after waiting its turn). */
  startAdmitted(op: Operation): void {
    if (op.kind === 'publish') {
      const packet = op.packet as Publish;
      // A failover may have renamed the id since the call: the name says which id it is now.
      if (packet.topicIdType === 0) {
        const byName = op.topicName === undefined ? undefined : this.topics.idOf(op.topicName);
        packet.topicId = byName ?? this.topics.current(packet.topicId as number);
      }
      this.startWithMsgId(op);
    } else if (op.kind === 'register') {
      op.packet = { type: 'REGISTER', topicId: 0, msgId: 0, topicName: op.topicName as string };
      this.startWithMsgId(op);
    } else if (op.kind === 'subscribe' || op.kind === 'unsubscribe') {
      this.startWithMsgId(op);
    } else {
      this.start(op, op.packet as Packet);
    }
  }

  /** Queues the op in its window, starting it when there is room. */
  admit(op: Operation, window: InFlightWindow<Operation>): void {
    op.window = window;
    if (window.admit(op)) this.startAdmitted(op);
  }

  /**
   * Sends the op's packet, again or its next step (PUBREL after PUBREC); `active`
   * (an answer to the gateway) restarts the caller's inactivity timeout.
   */
  resend(op: Operation, packet: Packet, active = true): void {
    op.packet = packet;
    this.trySend(packet);
    if (active) this.extendDeadline(op);
    this.scheduleRetry(op, this.now() + op.interval);
  }

  /** Data went out or came in for the op: its inactivity timeout starts again. */
  extendDeadline(op: Operation): void {
    op.deadline = this.now() + op.timeoutMs;
  }

  scheduleRetry(op: Operation, at: number): void {
    op.retryAt = at;
    this.timers.schedule(op.timerId, Math.min(at, op.deadline));
  }

  /** Removes an op from every table and starts whatever its window admits next. */
  endOp(op: Operation): void {
    this.endOpQuietly(op);
    if (op.window) for (const next of op.window.release(op)) this.startAdmitted(next);
  }

  /** Removes an op without starting the next one (the session is ending). */
  endOpQuietly(op: Operation): void {
    this.ops.remove(op);
    this.timers.cancel(op.timerId);
  }

  /** Return code "congestion": wait CongestionDelay, then send again. */
  pauseForCongestion(op: Operation, what: string): void {
    op.lastError = errorForReturnCode(1, what);
    this.sink.log(1, 'Packet', `${what} rejected for congestion; trying again in ${this.settings.congestionDelay} s.`);
    op.attempts = 0;
    this.scheduleRetry(op, this.now() + this.settings.congestionDelay * 1000);
  }

  /**
   * Settles an op by its acknowledgement's return code: congestion pauses and
   * retries it, any other refusal ends it with that error. True when accepted:
   * the op has ended and the caller resolves it.
   */
  settleByReturnCode(op: Operation, returnCode: number, what: string): boolean {
    if (returnCode === 1) {
      this.pauseForCongestion(op, what);
      return false;
    }
    this.endOp(op);
    if (returnCode === 0) return true;
    op.reject(errorForReturnCode(returnCode, what));
    return false;
  }

  // ------------------------------------------------------------------ sends

  send(packet: Packet): void {
    this.sink.send(packet);
    this.lastSentAt = this.now();
  }

  /** Sends a reply that has no caller to report to: failures become error events. */
  trySend(packet: Packet): void {
    try {
      this.send(packet);
    } catch (err) {
      const error = asError(err);
      this.emitError(error.code, error.description);
    }
  }

  sendOrReject(packet: Packet, resolve: Resolve, reject: Reject): void {
    try {
      this.send(packet);
    } catch (err) {
      reject(asError(err));
      return;
    }
    resolve();
  }

  emitError(errorCode: number, description: string): void {
    this.sink.emit('error', { errorCode, description });
  }
}

function asError(err: unknown): MqttSnError {
  if (err instanceof MqttSnError) return err;
  return new MqttSnError(ErrorCode.SOCKET_ERROR, err instanceof Error ? err.message : String(err));
}

/** A listener-set return code, or 0 when it is not a valid octet. */
export function validReturnCode(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255 ? value : 0;
}
