/**
 * The client protocol state machine (MQTT-SN v1.2, client side). Pure logic:
 * packets and time go in, packets and events come out through a sink. No
 * sockets and no real timers: every deadline lives in a TimerQueue and the
 * I/O layer calls tick() when nextDeadline() is reached.
 *
 * Each request the user makes is an Operation (flows/operation.ts). The
 * flows/ modules hold one packet family each: the request that starts it and
 * the handlers of the packets that answer it. This class only routes.
 */
import { ErrorCode, MqttSnError } from '../errors';
import type { Packet, PacketOf, PacketType } from '../codec/packets';
import type { TimerQueue } from '../timers/types';
import type { ClientSettings } from './config';
import type { TopicTable } from './topics';
import type { ClientState, SubscribeResult, TopicIdTypeArg, TopicRef } from './types';
import { SessionCore, type ConnectParams, type Reject, type Resolve, type SessionSink } from './flows/core';
import { KEEPALIVE_TIMER, SLEEP_TIMER } from './flows/operation';
import { connect, onConnack, onPortUnreachable, onWillMsgReq, onWillTopicReq } from './flows/connect';
import { onRegack, onRegister, register } from './flows/register';
import { onPuback, onPubcomp, onPubrec, publish, type PublishParams } from './flows/publish-out';
import { onPublish, onPubrel } from './flows/publish-in';
import { onSuback, onUnsuback, subscribe, unsubscribe } from './flows/subscribe';
import { onKeepAliveTimer, onPingreq, onPingresp, ping } from './flows/ping';
import { onAwakeTraffic, onSleepTimer, retrieve, sleep, wake } from './flows/sleep';
import { disconnect, onDisconnect } from './flows/disconnect';
import { onWillMsgResp, onWillTopicResp, updateWillMessage, updateWillTopic, type WillTopicUpdate } from './flows/will';
import { reconnect } from './flows/failover';
import { abandon, finishDisconnected } from './flows/session-end';
import { onOperationTimer } from './flows/retransmit';

export type { ConnectParams, SessionSink, WillParams } from './flows/core';
export type { PublishParams } from './flows/publish-out';

export type Handler<T extends PacketType> = (packet: PacketOf<T>) => void;

export class ClientSession {
  private readonly core: SessionCore;
  readonly topics: TopicTable;

  constructor(sink: SessionSink, settings: ClientSettings, timers: TimerQueue, now: () => number, timeoutSeconds: () => number) {
    this.core = new SessionCore(sink, settings, timers, now, timeoutSeconds);
    this.topics = this.core.topics;
  }

  get state(): ClientState {
    return this.core.state;
  }

  /** True while a session with the gateway exists (active, asleep or awake). */
  get connected(): boolean {
    return this.core.connected;
  }

  /** QoS 1/2 publishes sent and not yet acknowledged. */
  get inFlight(): number {
    return this.core.publishWindow.runningCount;
  }

  /** Earliest deadline the I/O layer must call tick() at (Infinity: none). */
  nextDeadline(): number {
    return this.core.timers.nextDeadline();
  }

  // ---------------------------------------------------------------- requests

  connect(params: ConnectParams, resolve: Resolve, reject: Reject): void {
    connect(this.core, params, resolve, reject);
  }

  register(topicName: string, resolve: Resolve<number>, reject: Reject): void {
    register(this.core, topicName, resolve, reject);
  }

  publish(params: PublishParams, resolve: Resolve, reject: Reject): void {
    publish(this.core, params, resolve, reject);
  }

  subscribe(topic: TopicRef, topicIdType: TopicIdTypeArg, qos: 0 | 1 | 2, resolve: Resolve<SubscribeResult>, reject: Reject): void {
    subscribe(this.core, topic, topicIdType, qos, resolve, reject);
  }

  unsubscribe(topic: TopicRef, topicIdType: TopicIdTypeArg, resolve: Resolve, reject: Reject): void {
    unsubscribe(this.core, topic, topicIdType, resolve, reject);
  }

  ping(resolve: Resolve, reject: Reject): void {
    ping(this.core, resolve, reject);
  }

  updateWillTopic(will: WillTopicUpdate, resolve: Resolve, reject: Reject): void {
    updateWillTopic(this.core, will, resolve, reject);
  }

  updateWillMessage(message: Buffer, resolve: Resolve, reject: Reject): void {
    updateWillMessage(this.core, message, resolve, reject);
  }

  /** DISCONNECT with a duration: asleep once the gateway answers. Also changes the duration while asleep. */
  sleep(duration: number, resolve: Resolve, reject: Reject): void {
    sleep(this.core, duration, resolve, reject);
  }

  /** Asleep -> awake until PINGRESP, then asleep again; resolves with the number of messages delivered. */
  retrieve(resolve: Resolve<number>, reject: Reject): void {
    retrieve(this.core, resolve, reject);
  }

  /** Asleep/awake -> active. */
  wake(resolve: Resolve, reject: Reject): void {
    wake(this.core, resolve, reject);
  }

  disconnect(resolve: Resolve, reject: Reject): void {
    disconnect(this.core, resolve, reject);
  }

  /**
   * After gatewayLost() returned true and the layer above pointed the sink at
   * a gateway (another one, or the same one again): connect there, register
   * the client's topic names again, restore the subscriptions and resend what
   * was in flight. `keepSession` false asks for a clean session whatever the
   * client's own flag says.
   */
  reconnect(keepSession: boolean, resolve: Resolve, reject: Reject): void {
    reconnect(this.core, keepSession, resolve, reject);
  }

  /** The transport heard an ICMP port unreachable from the gateway: a connect under way fails now. */
  portUnreachable(error: MqttSnError): boolean {
    return onPortUnreachable(this.core, error);
  }

  /** Rejects everything kept across a lost gateway. */
  abandon(reason: MqttSnError): void {
    abandon(this.core, reason);
  }

  /** The session as if new: every operation rejected, every table cleared. */
  reset(): void {
    const core = this.core;
    finishDisconnected(core, new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'), -1, '');
    abandon(core, new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'));
    core.topics.clear();
    core.inboundQos2.clear();
    core.recentQos1.length = 0;
    core.params = undefined;
    core.timers.clear();
  }

  // ------------------------------------------------------------ input: time

  /** Runs every timer due at the current time. */
  tick(): void {
    const now = this.core.now();
    for (const id of this.core.timers.expire(now)) {
      if (id === KEEPALIVE_TIMER) onKeepAliveTimer(this.core, now);
      else if (id === SLEEP_TIMER) onSleepTimer(this.core);
      else {
        const op = this.core.ops.byTimerId(id);
        if (op) onOperationTimer(this.core, op, now);
      }
    }
  }

  // --------------------------------------------------------- input: packets

  private readonly handlers: { [K in PacketType]?: Handler<K> } = {
    CONNACK: (p) => onConnack(this.core, p),
    WILLTOPICREQ: () => onWillTopicReq(this.core),
    WILLMSGREQ: () => onWillMsgReq(this.core),
    REGISTER: (p) => onRegister(this.core, p),
    REGACK: (p) => onRegack(this.core, p),
    PUBLISH: (p) => onPublish(this.core, p),
    PUBACK: (p) => onPuback(this.core, p),
    PUBREC: (p) => onPubrec(this.core, p),
    PUBREL: (p) => onPubrel(this.core, p),
    PUBCOMP: (p) => onPubcomp(this.core, p),
    SUBACK: (p) => onSuback(this.core, p),
    UNSUBACK: (p) => onUnsuback(this.core, p),
    PINGREQ: () => onPingreq(this.core),
    PINGRESP: () => onPingresp(this.core),
    DISCONNECT: () => onDisconnect(this.core),
    WILLTOPICRESP: (p) => onWillTopicResp(this.core, p),
    WILLMSGRESP: (p) => onWillMsgResp(this.core, p),
  };

  /** One packet from the gateway. */
  handle(packet: Packet): void {
    this.core.lastHeardAt = this.core.now();
    const handler = this.handlers[packet.type] as Handler<PacketType> | undefined;
    if (!handler) {
      this.core.sink.log(2, 'Packet', `Ignored unexpected ${packet.type} from the gateway.`);
      return;
    }
    if (this.core.state === 'awake' && packet.type !== 'PINGRESP') onAwakeTraffic(this.core);
    handler(packet);
  }
}
