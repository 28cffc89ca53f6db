/**
 * MqttSnClient: the managed MQTT-SN connection. One options object, publish
 * and subscribe by topic name, and a session it keeps across gateway and
 * broker restarts: it reconnects with back-off after a lost gateway, a
 * gateway DISCONNECT or a failed attempt, registers its topic names and
 * subscribes again, resends what was in flight, and holds the calls made
 * meanwhile (up to a bound). It runs on the same ClientEngine as MQTTSN.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ErrorCode, MqttSnError } from '../errors';
import { ClientEngine, type GatewayTarget } from './engine';
import { HeldCalls } from './held-calls';
import { resolveOptions, type ManagedClientOptions, type ResolvedOptions } from './managed-options';
import { ReconnectDelay } from './reconnect-delay';
import type { ConnectParams } from './client-session';
import type { ClientState, LogEvent, LogType, MessageInEvent, MqttSnClientEvents, SubscribeResult, TopicIdTypeArg } from './types';
import {
  PUBLISH_HEADER_BYTES,
  REGISTER_HEADER_BYTES,
  SUBSCRIBE_HEADER_BYTES,
  WILLMSG_HEADER_BYTES,
  WILLTOPIC_HEADER_BYTES,
  checkInteger,
  checkNumericTopicId,
  checkPayload,
  checkQos,
  checkShortName,
  checkSubscribeTopic,
  checkTopicName,
  invalid,
  roomAfter,
} from './validate';

/** How a topic string is read: a name (or filter), a pre-defined id (digits, or a name in the map), a short name. */
export type TopicType = 'normal' | 'predefined' | 'short';

export interface ManagedPublishOptions {
  /** -1 (no connection needed; pre-defined or short topics), 0 (default), 1 or 2. */
  qos?: -1 | 0 | 1 | 2;
  retain?: boolean;
  topicType?: TopicType;
}

export interface ManagedSubscribeOptions {
  /** Default 0. */
  qos?: 0 | 1 | 2;
  topicType?: TopicType;
}

export interface MessageInfo {
  qos: -1 | 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  msgId: number;
  /** The id as it arrived and its type (0 registered, 1 pre-defined, 2 short name). */
  topicId: number | string;
  topicIdType: TopicIdTypeArg;
}

export interface ConnectInfo {
  /** host:port of the gateway. */
  gateway: string;
  /** True after a lost session: the names and subscriptions were restored. */
  reconnected: boolean;
}

/** The managed client's events and their arguments. */
export interface ManagedClientEvents {
  /** A session is up (first connect or reconnect). */
  connect: [ConnectInfo];
  /** A reconnect attempt starts. */
  reconnect: [{ attempt: number; delay: number }];
  /** An established session was lost; held and in-flight calls wait for the reconnect (or reject if off). */
  offline: [MqttSnError];
  /** A session or an attempt ended; `reason` is undefined after end(). */
  close: [MqttSnError | undefined];
  /** end() finished: no session, no reconnecting. */
  end: [];
  /** A message, with its topic NAME (the id as text when the name is unknown). */
  message: [topic: string, payload: Buffer, info: MessageInfo];
  error: [MqttSnError];
  log: [LogEvent];
}

const TYPE_OF: Readonly<Record<TopicType, TopicIdTypeArg>> = { normal: 0, predefined: 1, short: 2 };

export class MqttSnClient extends EventEmitter<ManagedClientEvents> {
  private readonly options: ResolvedOptions;
  private readonly engine: ClientEngine;
  private readonly held: HeldCalls;
  private readonly delay: ReconnectDelay | undefined;
  private readonly registering = new Map<string, Promise<number>>();
  /** Calls made and not yet settled: a sleep waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  /** connect() called and no end() since. */
  private wanted = false;
  /** A session is up and restored: calls go out at once. */
  private online = false;
  /** Since connect(): a CONNACK came, so later attempts restore a session. */
  private sessionStarted = false;
  private attempt: Promise<void> | undefined;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: ManagedClientOptions) {
    super();
    this.options = resolveOptions(options);
    const reconnect = this.options.reconnect;
    this.delay = reconnect ? new ReconnectDelay(reconnect, options.random) : undefined;
    this.held = new HeldCalls(this.options.hold);
    this.engine = new ClientEngine(
      {
        emit: (event, ...args) => this.onSessionEvent(event, ...args),
        log: (level, type, message) => this.log(level, type, message),
        gatewayLost: () => this.wanted && this.delay !== undefined,
        holdsSocket: () => this.attempt !== undefined,
        local: () => ({ host: this.options.localHost, port: this.options.localPort }),
        timeoutSeconds: () => this.options.callTimeout / 1000,
      },
      this.options.settings,
      options,
    );
  }

  /** True while a session is up and restored. */
  get connected(): boolean {
    return this.online;
  }

  /** True while waiting to reconnect or trying to. */
  get reconnecting(): boolean {
    return this.wanted && !this.online && this.sessionStarted;
  }

  /** The protocol state of the session. */
  get state(): ClientState {
    return this.engine.session.state;
  }

  /** host:port of the gateway in use, if any. */
  get gateway(): string | undefined {
    const gw = this.engine.gateway;
    return gw ? `${gw.address}:${gw.port}` : undefined;
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** Calls held while (re)connecting, and their payload octets. */
  get heldCalls(): { count: number; bytes: number } {
    return { count: this.held.count, bytes: this.held.bytes };
  }

  /** QoS 1/2 publishes awaiting their acknowledgement. */
  get inFlight(): number {
    return this.engine.session.inFlight;
  }

  // ------------------------------------------------------------ connection

  /**
   * Connects and keeps the session up until end(). Resolves once connected;
   * rejects with the first attempt's error, while (unless reconnect is off)
   * the client keeps trying in the background.
   */
  async connect(): Promise<void> {
    if (this.online) return;
    if (!this.wanted) {
      this.wanted = true;
      this.sessionStarted = false;
    }
    this.clearReconnectTimer();
    await this.runAttempt();
  }

  /**
   * Ends the session (DISCONNECT, unless `force`) and stops reconnecting;
   * held and pending calls reject with ABORTED (710). connect() starts again.
   */
  async end(force = false): Promise<void> {
    const aborted = new MqttSnError(ErrorCode.ABORTED, 'The client was ended.');
    this.wanted = false;
    this.clearReconnectTimer();
    this.held.rejectAll(aborted);
    const session = this.engine.session;
    if (force) {
      this.engine.reset(aborted);
    } else if (session.state !== 'disconnected') {
      await this.engine.run<void>((resolve, reject) => session.disconnect(resolve, reject)).catch(() => undefined);
    }
    session.abandon(aborted);
    await this.attempt?.catch(() => undefined);
    this.setOffline(undefined);
    this.engine.closeIfIdle();
    this.emit('end');
  }

  private runAttempt(): Promise<void> {
    if (this.attempt) return this.attempt;
    const attempt = this.attemptOnce().then(
      () => {
        this.attempt = undefined;
      },
      (error: MqttSnError) => {
        this.attempt = undefined;
        if (this.wanted) this.afterLoss(error);
        this.engine.closeIfIdle();
        throw error;
      },
    );
    this.attempt = attempt;
    return attempt;
  }

  private async attemptOnce(): Promise<void> {
    const restoring = this.sessionStarted;
    try {
      const order = await this.targets();
      const session = this.engine.session;
      const params = this.connectParams();
      const target = await this.engine.tryGateways(
        order,
        (resolve, reject) => (restoring ? session.reconnect(true, resolve, reject) : session.connect(params, resolve, reject)),
        () => this.wanted,
      );
      this.engine.transport.hold(true);
      if (!this.wanted) throw new MqttSnError(ErrorCode.ABORTED, 'The client was ended.');
      this.sessionStarted = true;
      this.online = true;
      this.attempts = 0;
      this.delay?.reset();
      this.log(1, 'Reconnect', `Connected to ${target.host}:${target.port}.`);
      this.emit('connect', { gateway: this.gateway ?? `${target.host}:${target.port}`, reconnected: restoring });
      this.held.flush();
    } catch (err) {
      const error = err instanceof MqttSnError ? err : new MqttSnError(ErrorCode.SOCKET_ERROR, String(err));
      this.log(1, 'Reconnect', `Connecting failed: ${error.description}`);
      if (this.wanted) this.emit('close', error);
      throw error;
    }
  }

  /** The configured gateway, the others, the discovered ones; a search first when none is known. */
  private async targets(): Promise<GatewayTarget[]> {
    const order: GatewayTarget[] = [];
    const current = this.options.gateway;
    if (current) order.push(current);
    for (const c of this.engine.candidates()) if (!order.some((o) => o.host === c.host && o.port === c.port)) order.push(c);
    if (order.length > 0 || this.options.discoveryRadius === undefined) return order;
    const found = await this.engine.search(this.options.discoveryRadius);
    this.log(1, 'Reconnect', `Found gateway ${found.gatewayId} at ${found.gatewayAddress}.`);
    return this.engine.candidates();
  }

  /** Reconnects later, or (reconnect off, end() called) rejects what waits. */
  private afterLoss(reason: MqttSnError): void {
    if (this.wanted && this.delay) {
      this.scheduleReconnect();
      return;
    }
    this.wanted = false;
    this.held.rejectAll(reason);
    this.engine.session.abandon(reason);
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.attempt || !this.delay) return;
    const delay = this.delay.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.wanted) return;
      this.attempts++;
      this.emit('reconnect', { attempt: this.attempts, delay });
      this.runAttempt().catch(() => undefined);
    }, delay);
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private setOffline(reason: MqttSnError | undefined): boolean {
    if (!this.online) return false;
    this.online = false;
    if (reason) this.emit('offline', reason);
    this.emit('close', reason);
    return true;
  }

  private connectParams(): ConnectParams {
    const o = this.options;
    if (o.clientId === '') o.clientId = `mqttsn-${randomBytes(6).toString('hex')}`;
    const room = this.options.settings.maxPacketSize;
    const will = o.will
      ? {
          topic: checkTopicName(o.will.topic, roomAfter(WILLTOPIC_HEADER_BYTES, room), 'Will topic'),
          message: checkPayload(o.will.payload, roomAfter(WILLMSG_HEADER_BYTES, room)),
          qos: o.will.qos,
          retain: o.will.retain,
        }
      : undefined;
    return { clientId: o.clientId, cleanSession: o.cleanSession, keepAlive: o.keepAlive, will };
  }

  // ------------------------------------------------------------- messages

  /**
   * Publishes to a topic name (registered on first use; its pre-defined id
   * when the map has it), a short name or a pre-defined id. Resolves on the
   * acknowledgement (QoS 1, 2) or once sent (QoS -1, 0). Held while
   * (re)connecting; QoS -1 needs no session.
   */
  async publish(topic: string, payload: string | Uint8Array, options: ManagedPublishOptions = {}): Promise<void> {
    const qos = checkQos(options.qos ?? 0, true);
    const retain = options.retain ?? false;
    if (typeof retain !== 'boolean') throw invalid('retain must be true or false.');
    const data = checkPayload(payload, roomAfter(PUBLISH_HEADER_BYTES, this.options.settings.maxPacketSize));
    const type = this.topicType(options.topicType);
    const fixed = this.fixedTopic(topic, type);
    if (fixed === undefined) checkTopicName(topic, roomAfter(REGISTER_HEADER_BYTES, this.options.settings.maxPacketSize));
    if (qos === -1) {
      if (!fixed) throw invalid('QoS -1 needs a pre-defined topic or a short topic name.');
      return this.publishWithoutSession({ topicId: fixed.topicId, topicIdType: fixed.topicIdType, qos, payload: data, retain, dup: false });
    }
    return this.whenOnline(data.length, 'publish', async () => {
      const target = fixed ?? { topicId: await this.register(topic), topicIdType: 0 as const, topicName: topic };
      await this.engine.run<void>((resolve, reject) =>
        this.engine.session.publish({ ...target, qos, payload: data, retain, dup: false }, resolve, reject),
      );
    });
  }

  /** REGISTERs a topic name once per session and resolves with its id. */
  async register(topicName: string): Promise<number> {
    checkTopicName(topicName, roomAfter(REGISTER_HEADER_BYTES, this.options.settings.maxPacketSize));
    return this.whenOnline(0, 'register', () => {
      const known = this.engine.session.topics.idOf(topicName);
      if (known !== undefined) return Promise.resolve(known);
      const pending = this.registering.get(topicName);
      if (pending) return pending;
      const registration = this.engine
        .run<number>((resolve, reject) => this.engine.session.register(topicName, resolve, reject))
        .finally(() => this.registering.delete(topicName));
      this.registering.set(topicName, registration);
      return registration;
    });
  }

  /** Subscribes (again after every reconnect); resolves with the id and QoS the gateway granted. */
  async subscribe(topic: string, options: ManagedSubscribeOptions = {}): Promise<SubscribeResult> {
    const qos = checkQos(options.qos ?? 0, false) as 0 | 1 | 2;
    const { ref, type } = this.subscribeTarget(topic, options.topicType);
    return this.whenOnline(0, 'subscribe', () =>
      this.engine.run<SubscribeResult>((resolve, reject) => this.engine.session.subscribe(ref, type, qos, resolve, reject)),
    );
  }

  async unsubscribe(topic: string, options: Pick<ManagedSubscribeOptions, 'topicType'> = {}): Promise<void> {
    const { ref, type } = this.subscribeTarget(topic, options.topicType);
    return this.whenOnline(0, 'unsubscribe', () =>
      this.engine.run<void>((resolve, reject) => this.engine.session.unsubscribe(ref, type, resolve, reject)),
    );
  }

  // ---------------------------------------------------------------- sleep

  /** Asleep for `seconds` once the calls made before have settled and the gateway acknowledges; it buffers messages meanwhile. */
  async sleep(seconds: number): Promise<void> {
    checkInteger(seconds, 1, 65535, 'Sleep duration');
    // A sleeping client cannot receive acknowledgements: what is under way finishes first.
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.engine.run<void>((resolve, reject) => this.engine.session.sleep(seconds, resolve, reject));
  }

  /** Collects what the gateway buffered, then asleep again; resolves with the number of messages. */
  async retrieve(): Promise<number> {
    return this.engine.run<number>((resolve, reject) => this.engine.session.retrieve(resolve, reject));
  }

  /** Back to active. */
  async wake(): Promise<void> {
    await this.engine.run<void>((resolve, reject) => this.engine.session.wake(resolve, reject));
  }

  // --------------------------------------------------------------- inside

  /** Runs `call` now when online, holds it while (re)connecting, rejects when not connecting at all. */
  private whenOnline<T>(bytes: number, what: string, call: () => Promise<T>): Promise<T> {
    const state = this.engine.session.state;
    if (!this.online && state !== 'asleep' && state !== 'awake' && !this.wanted) {
      return Promise.reject(new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected; call connect() first.`));
    }
    const result = this.online || state === 'asleep' || state === 'awake' ? call() : this.held.hold(bytes, what, call);
    const settled = result.catch(() => undefined);
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return result;
  }

  private async publishWithoutSession(params: Parameters<ClientEngine['session']['publish']>[0]): Promise<void> {
    const engine = this.engine;
    const send = (): Promise<void> => engine.run<void>((resolve, reject) => engine.session.publish(params, resolve, reject));
    if (engine.transport.active && engine.gateway) return send();
    const target = this.options.gateway ?? engine.candidates()[0];
    if (!target) throw new MqttSnError(ErrorCode.NO_GATEWAY, 'QoS -1 needs a known gateway.');
    await engine.preparing(async () => {
      await engine.useGateway(target);
      await send();
      // Connectionless: the open socket must not keep the process alive on its own.
      if (engine.session.state === 'disconnected' && !this.attempt) engine.transport.hold(false);
    });
  }

  private topicType(value: TopicType | undefined): TopicIdTypeArg {
    const type = TYPE_OF[value ?? 'normal'];
    if (type === undefined) throw invalid(`topicType must be 'normal', 'predefined' or 'short', not ${JSON.stringify(value)}.`);
    return type;
  }

  /**
   * A pre-defined id or a short name for `topic`; undefined for a name to
   * register. A name in predefinedTopics is published by its id; type
   * 'predefined' also takes the id's digits.
   */
  private fixedTopic(topic: string, type: TopicIdTypeArg): { topicId: number | string; topicIdType: 1 | 2 } | undefined {
    if (type === 2) return { topicId: checkShortName(topic), topicIdType: 2 };
    for (const [id, name] of this.options.settings.predefinedTopics) if (name === topic) return { topicId: id, topicIdType: 1 };
    if (type === 0) return undefined;
    if (!/^\d+$/.test(topic)) throw invalid(`"${topic}" is neither a pre-defined topic id nor a name in predefinedTopics.`);
    return { topicId: checkNumericTopicId(topic), topicIdType: 1 };
  }

  private subscribeTarget(topic: string, topicType: TopicType | undefined): { ref: number | string; type: TopicIdTypeArg } {
    const fixed = typeof topic === 'string' ? this.fixedTopic(topic, this.topicType(topicType)) : undefined;
    const ref = fixed?.topicId ?? topic;
    const type = fixed?.topicIdType ?? 0;
    return { ref: checkSubscribeTopic(ref, type, roomAfter(SUBSCRIBE_HEADER_BYTES, this.options.settings.maxPacketSize)), type };
  }

  private onSessionEvent<K extends keyof MqttSnClientEvents>(event: K, ...args: MqttSnClientEvents[K]): void {
    switch (event) {
      case 'messageIn':
        this.deliver(args[0] as MessageInEvent);
        return;
      case 'disconnected': {
        const { statusCode, description } = args[0] as MqttSnClientEvents['disconnected'][0];
        if (statusCode === 0) return;
        const reason = new MqttSnError(statusCode, description);
        this.log(1, 'Reconnect', `Session lost: ${description}`);
        if (this.setOffline(reason)) this.afterLoss(reason);
        return;
      }
      case 'error': {
        const { errorCode, description } = args[0] as MqttSnClientEvents['error'][0];
        this.reportError(new MqttSnError(errorCode, description));
        return;
      }
      default:
    }
  }

  private deliver(event: MessageInEvent): void {
    const name = event.topicName ?? String(event.topicId);
    const info: MessageInfo = {
      qos: event.qos,
      retain: event.retained,
      dup: event.duplicate,
      msgId: event.msgId,
      topicId: event.topicId,
      topicIdType: event.topicIdType,
    };
    this.emit('message', name, event.message, info);
  }

  private reportError(error: MqttSnError): void {
    // An 'error' nobody listens to would throw: it becomes a log line instead.
    if (this.listenerCount('error') === 0) this.log(1, 'Info', `Error ${error.code}: ${error.description}`);
    else this.emit('error', error);
  }

  private log(level: number, logType: LogType, message: string): void {
    if (level <= 0 || level > this.options.settings.logLevel || this.listenerCount('log') === 0) return;
    this.emit('log', { logLevel: level, message, logType });
  }
}
