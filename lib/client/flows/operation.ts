/**
 * One request in progress (a user call or one the client makes itself): the
 * packet to (re)send, its retransmission count (T_retry / N_retry), the
 * caller's inactivity deadline, and the callbacks that settle its promise.
 */
import type { MqttSnError } from '../../errors';
import type { Packet } from '../../codec/packets';
import type { InFlightWindow } from '../inflight';

export type OpKind =
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

export interface Operation {
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
  /**
   * The caller's timeout, ms (Infinity: none). As the reference class's, it is an
   * inactivity timeout: the operation's first send, and each packet received
   * for it with the step sent in answer, move the deadline this far ahead
   * (retransmissions of an unanswered packet do not).
   */
  timeoutMs: number;
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
export const KEEPALIVE_TIMER = 1;
export const SLEEP_TIMER = 2;
const FIRST_OP_TIMER = 16;
const MAX_OP_TIMER = 0x7fffffff;

/** The operations in progress, found by timer id, message id or kind. */
export class OperationTable {
  private readonly byTimer = new Map<number, Operation>();
  private readonly byMsgId = new Map<number, Operation>();
  private nextTimerId = FIRST_OP_TIMER;
  private nextMsgId = 1;

  add(op: Operation): void {
    this.byTimer.set(op.timerId, op);
  }

  has(op: Operation): boolean {
    return this.byTimer.has(op.timerId);
  }

  byTimerId(timerId: number): Operation | undefined {
    return this.byTimer.get(timerId);
  }

  /** Every operation, in a copy safe to iterate while ending them. */
  all(): Operation[] {
    return [...this.byTimer.values()];
  }

  /** The running operation of a kind (one that has sent its packet). */
  find(kind: OpKind): Operation | undefined {
    for (const op of this.byTimer.values()) if (op.kind === kind && op.packet !== undefined) return op;
    return undefined;
  }

  forMsgId(msgId: number, kind: OpKind): Operation | undefined {
    const op = this.byMsgId.get(msgId);
    return op && op.kind === kind ? op : undefined;
  }

  /** Gives the op a message id no other running op holds. */
  assignMsgId(op: Operation): void {
    for (;;) {
      const id = this.nextMsgId;
      this.nextMsgId = id >= 0xffff ? 1 : id + 1;
      if (!this.byMsgId.has(id)) {
        op.msgId = id;
        this.byMsgId.set(id, op);
        return;
      }
    }
  }

  allocateTimerId(): number {
    for (;;) {
      const id = this.nextTimerId;
      this.nextTimerId = id >= MAX_OP_TIMER ? FIRST_OP_TIMER : id + 1;
      if (!this.byTimer.has(id)) return id;
    }
  }

  remove(op: Operation): void {
    this.byTimer.delete(op.timerId);
    if (op.msgId !== 0 && this.byMsgId.get(op.msgId) === op) this.byMsgId.delete(op.msgId);
  }
}
