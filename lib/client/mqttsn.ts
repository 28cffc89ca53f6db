/**
 * MQTTSN: the MQTT-SN v1.2 client. Properties, methods and events follow the
 * reference class (docs/client.md maps every name). The session machinery
 * (sockets, the one real timer, ClientSession, Discovery) is the ClientEngine
 * the managed client uses too; this class adds the reference's properties,
 * config() settings, argument checks and its failover policy.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ErrorCode, MqttSnError } from '../errors';
import { applyConfig, defaultSettings, type ClientSettings } from './config';
import { parseEndpoint } from './discovery';
import type { ConnectParams, WillParams } from './client-session';
import { ClientEngine, type EngineOptions, type GatewayTarget } from './engine';
import type {
  ClientState,
  GatewayInfoEvent,
  KnownGateway,
  LogType,
  PublishOptions,
  MqttSnClientEvents,
  SubscribeResult,
  TopicIdTypeArg,
  TopicRef,
} from './types';
import {
  PUBLISH_HEADER_BYTES,
  REGISTER_HEADER_BYTES,
  SUBSCRIBE_HEADER_BYTES,
  WILLMSG_HEADER_BYTES,
  WILLTOPIC_HEADER_BYTES,
  checkClientId,
  checkInteger,
  checkPayload,
  checkPort,
  checkPublishOptions,
  checkPublishTopic,
  checkQos,
  checkSeconds,
  checkSubscribeTopic,
  checkTopicIdType,
  checkTopicName,
  invalid,
  roomAfter,
} from './validate';

export type MqttSnClientOptions = EngineOptions;

const DEFAULTS = {
  cleanSession: true,
  clientId: '',
  keepAliveInterval: 0,
  localHost: '',
  localPort: 0,
  remoteHost: '',
  remotePort: 0,
  timeout: 60,
  willMessage: '',
  willTopic: '',
};

export class MQTTSN extends EventEmitter<MqttSnClientEvents> {
  private settings: ClientSettings = defaultSettings();
  private props = { ...DEFAULTS };
  private readonly engine: ClientEngine;
  /** connect() called and no disconnect() or reset() since: a lost gateway may be replaced. */
  private wantSession = false;
  private failingOver = false;

  constructor(options: MqttSnClientOptions = {}) {
    super();
    this.engine = new ClientEngine(
      {
        emit: (event, ...args) => this.emitEvent(event, ...args),
        log: (level, type, message) => this.log(level, type, message),
        gatewayLost: (reason) => this.onGatewayLost(reason),
        holdsSocket: () => this.failingOver,
        local: () => ({ host: this.props.localHost, port: this.props.localPort }),
        timeoutSeconds: () => this.props.timeout,
      },
      this.settings,
      options,
    );
  }

  private get session(): ClientEngine['session'] {
    return this.engine.session;
  }

  private get transport(): ClientEngine['transport'] {
    return this.engine.transport;
  }

  // ------------------------------------------------------------ properties

  /** Ask the gateway for a clean session on connect (default true). */
  get cleanSession(): boolean {
    return this.props.cleanSession;
  }
  set cleanSession(value: boolean) {
    if (typeof value !== 'boolean') throw invalid('cleanSession must be true or false.');
    this.props.cleanSession = value;
  }

  /** 1-23 octets; generated on connect when empty and cleanSession is true. */
  get clientId(): string {
    return this.props.clientId;
  }
  set clientId(value: string) {
    this.props.clientId = checkClientId(value);
  }

  /** True while a session exists (active, asleep or awake). Setting it connects or disconnects. */
  get connected(): boolean {
    return this.session.connected;
  }
  set connected(value: boolean) {
    const action = value ? this.connect() : this.disconnect();
    action.catch((error: MqttSnError) => this.reportError(error.code, error.description));
  }

  /** Seconds of silence the gateway tolerates (0: none); sent with CONNECT. */
  get keepAliveInterval(): number {
    return this.props.keepAliveInterval;
  }
  set keepAliveInterval(value: number) {
    if (this.session.connected) throw new MqttSnError(ErrorCode.WRONG_STATE, 'keepAliveInterval cannot change while connected.');
    this.props.keepAliveInterval = checkInteger(value, 0, 65535, 'keepAliveInterval');
  }

  /** Local interface to bind ('' = all); shows the bound address while active. */
  get localHost(): string {
    return this.transport.localAddress()?.address ?? this.props.localHost;
  }
  set localHost(value: string) {
    if (this.transport.active) throw new MqttSnError(ErrorCode.LOCAL_HOST_WHILE_ACTIVE);
    if (typeof value !== 'string') throw invalid('localHost must be a string.');
    this.props.localHost = value;
  }

  /** Local UDP port (0 = any); shows the bound port while active. */
  get localPort(): number {
    return this.transport.localAddress()?.port ?? this.props.localPort;
  }
  set localPort(value: number) {
    if (this.transport.active) throw new MqttSnError(ErrorCode.LOCAL_PORT_WHILE_ACTIVE);
    this.props.localPort = checkPort(value, 'localPort', true);
  }

  /** Gateway host name or address; becomes the resolved address on connect. 255.255.255.255 broadcasts. */
  get remoteHost(): string {
    return this.props.remoteHost;
  }
  set remoteHost(value: string) {
    if (typeof value !== 'string') throw invalid('remoteHost must be a string.');
    this.props.remoteHost = value;
  }

  get remotePort(): number {
    return this.props.remotePort;
  }
  set remotePort(value: number) {
    this.props.remotePort = checkPort(value, 'remotePort', true);
  }

  /** Seconds a call waits for its acknowledgement (0: only the retry limit applies). */
  get timeout(): number {
    return this.props.timeout;
  }
  set timeout(value: number) {
    this.props.timeout = checkSeconds(value, 0, 'timeout');
  }

  get willMessage(): string {
    return this.props.willMessage;
  }
  set willMessage(value: string) {
    if (typeof value !== 'string') throw invalid('willMessage must be a string.');
    this.props.willMessage = value;
  }

  /** '' sends no will. */
  get willTopic(): string {
    return this.props.willTopic;
  }
  set willTopic(value: string) {
    if (typeof value !== 'string') throw invalid('willTopic must be a string.');
    this.props.willTopic = value;
  }

  /** Extra: the protocol state. */
  get state(): ClientState {
    return this.session.state;
  }

  /** Extra: gateways known from configuration, GWINFO and ADVERTISE. */
  get gateways(): KnownGateway[] {
    return this.engine.discovery.gateways;
  }

  /** Extra: QoS 1/2 publishes awaiting their acknowledgement. */
  get inFlight(): number {
    return this.session.inFlight;
  }

  /** Extra: the name the client knows for a topic id, if any. */
  topicName(topicId: number | string, topicIdType: TopicIdTypeArg): string | undefined {
    return this.session.topics.nameOf(topicId, topicIdType);
  }

  // --------------------------------------------------------------- methods

  /** Sets or reads a configuration setting: config("Name=Value") returns '', config("Name") its value. */
  config(configuration: string): string {
    const result = applyConfig(this.settings, configuration);
    if (configuration.includes('=')) this.applySettingSideEffects();
    return result;
  }

  async connect(): Promise<void> {
    const params = this.connectParams();
    if (this.session.state !== 'disconnected') {
      throw new MqttSnError(ErrorCode.UDP_ALREADY_ACTIVE, 'Already connected or connecting to a gateway.');
    }
    const target = await this.chooseGateway();
    this.wantSession = true;
    try {
      await this.engine.preparing(() => this.useGateway(target)).catch((error: unknown) => {
        // A failed DTLS handshake ends the connect before CONNECT: reported through `connected` as a refusal is.
        if (error instanceof MqttSnError && this.settings.dtls.enabled) this.emit('connected', { statusCode: error.code, description: error.description });
        throw error;
      });
      this.transport.hold(true);
      await this.engine.run<void>((resolve, reject) => this.session.connect(params, resolve, reject));
    } catch (error) {
      this.engine.closeIfIdle();
      throw error;
    }
  }

  async connectTo(host: string, port: number): Promise<void> {
    if (typeof host !== 'string' || host === '') throw invalid('connectTo() needs a host.');
    checkPort(port, 'port', false);
    this.props.remoteHost = host;
    this.props.remotePort = port;
    return this.connect();
  }

  async disconnect(): Promise<void> {
    this.wantSession = false;
    await this.engine.run<void>((resolve, reject) => this.session.disconnect(resolve, reject));
    this.engine.closeIfIdle();
  }

  async registerTopic(topicName: string): Promise<number> {
    checkTopicName(topicName, roomAfter(REGISTER_HEADER_BYTES, this.settings.maxPacketSize));
    return this.engine.run<number>((resolve, reject) => this.session.register(topicName, resolve, reject));
  }

  async publishMessage(topicId: TopicRef, topicIdType: TopicIdTypeArg, qos: number, message: string, options?: PublishOptions): Promise<void> {
    if (typeof message !== 'string') throw invalid('publishMessage() takes a string message; use publishData() for bytes.');
    return this.publish(topicId, topicIdType, qos, message, options);
  }

  async publishData(topicId: TopicRef, topicIdType: TopicIdTypeArg, qos: number, data: Uint8Array, options?: PublishOptions): Promise<void> {
    if (!(data instanceof Uint8Array)) throw invalid('publishData() takes a Buffer or Uint8Array.');
    return this.publish(topicId, topicIdType, qos, data, options);
  }

  async subscribe(topic: TopicRef, topicIdType: TopicIdTypeArg, qos: number): Promise<SubscribeResult> {
    const type = checkTopicIdType(topicIdType);
    const grantedQos = checkQos(qos, false) as 0 | 1 | 2;
    const target = checkSubscribeTopic(topic, type, roomAfter(SUBSCRIBE_HEADER_BYTES, this.settings.maxPacketSize));
    return this.engine.run<SubscribeResult>((resolve, reject) => this.session.subscribe(target, type, grantedQos, resolve, reject));
  }

  async unsubscribe(topic: TopicRef, topicIdType: TopicIdTypeArg): Promise<void> {
    const type = checkTopicIdType(topicIdType);
    const target = checkSubscribeTopic(topic, type, roomAfter(SUBSCRIBE_HEADER_BYTES, this.settings.maxPacketSize));
    return this.engine.run<void>((resolve, reject) => this.session.unsubscribe(target, type, resolve, reject));
  }

  async ping(): Promise<void> {
    return this.engine.run<void>((resolve, reject) => this.session.ping(resolve, reject));
  }

  /** Asleep for `duration` seconds once the gateway acknowledges (the gateway buffers messages meanwhile). */
  async startSleep(duration: number): Promise<void> {
    checkInteger(duration, 1, 65535, 'Sleep duration');
    return this.engine.run<void>((resolve, reject) => this.session.sleep(duration, resolve, reject));
  }

  /** Awake until the gateway has sent what it buffered, then asleep again; resolves with the number of messages. */
  async retrieveMessages(): Promise<number> {
    return this.engine.run<number>((resolve, reject) => this.session.retrieve(resolve, reject));
  }

  async stopSleep(): Promise<void> {
    return this.engine.run<void>((resolve, reject) => this.session.wake(resolve, reject));
  }

  /** Sends willTopic, WillQOS and WillRetain to the gateway (an empty willTopic deletes the will). */
  async updateWillTopic(): Promise<void> {
    const topic = this.props.willTopic;
    if (topic !== '') checkTopicName(topic, roomAfter(WILLTOPIC_HEADER_BYTES, this.settings.maxPacketSize), 'Will topic');
    const will = { topic, qos: this.settings.willQos, retain: this.settings.willRetain };
    return this.engine.run<void>((resolve, reject) => this.session.updateWillTopic(will, resolve, reject));
  }

  /** Sends willMessage to the gateway. */
  async updateWillMessage(): Promise<void> {
    const message = checkPayload(this.props.willMessage, roomAfter(WILLMSG_HEADER_BYTES, this.settings.maxPacketSize));
    return this.engine.run<void>((resolve, reject) => this.session.updateWillMessage(message, resolve, reject));
  }

  /** Broadcasts SEARCHGW (radius 0..255) and resolves with the first gateway that answers. */
  async discoverGateway(radius = 0): Promise<GatewayInfoEvent> {
    checkInteger(radius, 0, 255, 'Radius');
    return this.engine.search(radius);
  }

  /** Answers the last SEARCHGW heard (or broadcasts) with a GWINFO for `gatewayId` at `gatewayAddress` (host:port). */
  async sendDiscoverResponse(gatewayId: number, gatewayAddress: string): Promise<void> {
    checkInteger(gatewayId, 0, 255, 'Gateway id');
    const endpoint = typeof gatewayAddress === 'string' ? parseEndpoint(gatewayAddress) : undefined;
    if (!endpoint) throw invalid(`Gateway address must be host:port, not ${JSON.stringify(gatewayAddress)}.`);
    const discovery = this.engine.discovery;
    await this.engine.preparing(async () => {
      await this.engine.openSocket(this.settings.discoveryAddress.includes(':') ? 6 : 4);
      discovery.respond(gatewayId, endpoint, discovery.lastRequester);
    });
    this.engine.closeIfIdle();
  }

  /** Node dispatches events itself: this resolves once pending I/O callbacks have run. */
  async doEvents(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Drops the connection without a word to the gateway, closes the sockets, and restores every default. */
  reset(): void {
    this.wantSession = false;
    this.engine.reset(new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'));
    const fresh = defaultSettings();
    Object.assign(this.settings, fresh);
    this.props = { ...DEFAULTS };
  }

  // --------------------------------------------------------------- inside

  private async publish(
    topicId: TopicRef,
    topicIdType: TopicIdTypeArg,
    qos: number,
    message: string | Uint8Array,
    options: PublishOptions | undefined,
  ): Promise<void> {
    // Read now: with several publishes in flight, a later Retain setting must not change this one.
    const retain = checkPublishOptions(options).retain ?? this.settings.retain;
    const type = checkTopicIdType(topicIdType);
    const level = checkQos(qos, true);
    if (level === -1 && type === 0) {
      throw invalid('QoS -1 needs a pre-defined topic id (type 1) or a short topic name (type 2).');
    }
    const target = checkPublishTopic(topicId, type);
    const payload = checkPayload(message, roomAfter(PUBLISH_HEADER_BYTES, this.settings.maxPacketSize));
    const params = {
      topicId: target,
      topicIdType: type,
      qos: level,
      payload,
      retain,
      dup: this.settings.duplicate,
    };
    if (level === -1 && !this.session.connected) {
      if (this.props.remoteHost === '' || this.props.remotePort === 0) {
        throw new MqttSnError(ErrorCode.NO_GATEWAY, 'QoS -1 needs remoteHost and remotePort.');
      }
      return this.engine.preparing(async () => {
        await this.useGateway({ host: this.props.remoteHost, port: this.props.remotePort });
        await this.engine.run<void>((resolve, reject) => this.session.publish(params, resolve, reject));
        // Connectionless: the open socket must not keep the process alive on its own.
        if (this.session.state === 'disconnected') this.transport.hold(false);
      });
    }
    return this.engine.run<void>((resolve, reject) => this.session.publish(params, resolve, reject));
  }

  private connectParams(): ConnectParams {
    let clientId = this.props.clientId;
    if (clientId === '') {
      if (!this.props.cleanSession) throw invalid('clientId is required when cleanSession is false.');
      clientId = `mqttsn-${randomBytes(6).toString('hex')}`;
      this.props.clientId = clientId;
    }
    let will: WillParams | undefined;
    if (this.props.willTopic !== '') {
      checkTopicName(this.props.willTopic, roomAfter(WILLTOPIC_HEADER_BYTES, this.settings.maxPacketSize), 'Will topic');
      will = {
        topic: this.props.willTopic,
        message: checkPayload(this.props.willMessage, roomAfter(WILLMSG_HEADER_BYTES, this.settings.maxPacketSize)),
        qos: this.settings.willQos,
        retain: this.settings.willRetain,
      };
    }
    return { clientId, cleanSession: this.props.cleanSession, keepAlive: this.props.keepAliveInterval, will };
  }

  /** remoteHost:remotePort, or the first configured or discovered gateway. */
  private async chooseGateway(): Promise<{ host: string; port: number }> {
    if (this.props.remoteHost !== '') {
      if (this.props.remotePort === 0) throw invalid('remotePort must be set (1-65535).');
      return { host: this.props.remoteHost, port: this.props.remotePort };
    }
    const candidates = this.engine.candidates();
    if (candidates.length === 0) throw new MqttSnError(ErrorCode.NO_GATEWAY, 'Set remoteHost and remotePort, or Gateways, or discover a gateway first.');
    return candidates[0];
  }

  /** Resolves a gateway, opens the socket for its family and makes it the destination. */
  private async useGateway(target: GatewayTarget): Promise<void> {
    const gateway = await this.engine.useGateway(target);
    if (target.host === this.props.remoteHost) this.props.remoteHost = gateway.address;
  }

  /** The failover policy: with Failover on, a lost gateway (708) is replaced by the next known one. */
  private onGatewayLost(reason: MqttSnError): boolean {
    // A disconnect() from a `disconnected` listener comes first: nothing to replace then.
    if (!this.settings.failover || !this.wantSession || reason.code !== ErrorCode.GATEWAY_LOST) return false;
    const all = this.engine.candidates();
    const at = all.findIndex((c) => this.engine.isCurrent(c));
    const order = [...all.slice(at + 1), ...all.slice(0, Math.max(at, 0))].filter((c) => !this.engine.isCurrent(c));
    if (order.length === 0) return false;
    this.failingOver = true;
    void this.failover(order, reason).finally(() => {
      this.failingOver = false;
      this.engine.closeIfIdle();
    });
    return true;
  }

  private async failover(order: GatewayTarget[], reason: MqttSnError): Promise<void> {
    this.log(1, 'Reconnect', `Gateway lost (${reason.description}); trying ${order.map((c) => `${c.host}:${c.port}`).join(', ')}.`);
    try {
      const session = this.session;
      const next = await this.engine.tryGateways(order, (ok, fail) => session.reconnect(false, ok, fail), () => this.wantSession);
      this.props.remoteHost = this.engine.gateway?.address ?? next.host;
      this.props.remotePort = next.port;
      this.log(1, 'Reconnect', `Now connected to ${next.host}:${next.port}.`);
    } catch {
      this.session.abandon(reason);
    }
  }

  private applySettingSideEffects(): void {
    if (this.settings.discoveryListen && !this.transport.listening) {
      // Listening starts now, so ADVERTISE and SEARCHGW are heard before any connect.
      this.engine
        .listenDiscovery()
        .catch((error: MqttSnError) => this.reportError(error.code, error.description));
    } else if (!this.settings.discoveryListen && this.transport.listening) {
      this.transport.closeDiscoverySocket();
    }
    this.engine.arm();
  }

  private emitEvent<K extends keyof MqttSnClientEvents>(event: K, ...args: MqttSnClientEvents[K]): void {
    if (event === 'error' && this.listenerCount('error') === 0) {
      // An 'error' nobody listens to would throw: report it as a log line instead.
      const [payload] = args as MqttSnClientEvents['error'];
      this.log(1, 'Info', `Error ${payload.errorCode}: ${payload.description}`);
      return;
    }
    (this.emit as (e: K, ...a: MqttSnClientEvents[K]) => boolean)(event, ...args);
  }

  private reportError(errorCode: number, description: string): void {
    this.emitEvent('error', { errorCode, description });
  }

  private log(level: number, logType: LogType, message: string): void {
    if (level <= 0 || level > this.settings.logLevel || this.listenerCount('log') === 0) return;
    this.emit('log', { logLevel: level, message, logType });
  }
}

