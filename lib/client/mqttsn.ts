/**
 * MQTTSN: the MQTT-SN v1.2 client. Properties, methods and events follow the
 * reference class (docs/client.md maps every name); the protocol lives in
 * ClientSession and Discovery, this class adds the sockets, the one real
 * timer, DNS and the argument checks.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { decode, encode } from '../codec';
import type { Packet } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { createTimerQueue } from '../timers';
import { applyConfig, defaultSettings, parseGatewayList, type ClientSettings } from './config';
import { Discovery, parseEndpoint } from './discovery';
import { ClientSession, type ConnectParams, type WillParams } from './client-session';
import { UdpTransport, formatEndpoint, resolveHost, type Endpoint, type Family } from './transport';
import { sameAddress } from '../transport/endpoint';
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

export interface MqttSnClientOptions {
  /** Monotonic milliseconds; tests may pass a fake clock. */
  clock?: () => number;
  /** Random numbers in [0, 1) for the discovery delays. */
  random?: () => number;
}

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

function monotonicMs(): number {
  return performance.now();
}

export class MQTTSN extends EventEmitter<MqttSnClientEvents> {
  private settings: ClientSettings = defaultSettings();
  private props = { ...DEFAULTS };
  private readonly clock: () => number;
  private readonly transport: UdpTransport;
  private readonly session: ClientSession;
  private readonly discovery: Discovery;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private gateway: Endpoint | undefined;
  private opening: Promise<void> | undefined;
  /** connect() called and no disconnect() or reset() since: a lost gateway may be replaced. */
  private wantSession = false;

  constructor(options: MqttSnClientOptions = {}) {
    super();
    this.clock = options.clock ?? monotonicMs;
    this.transport = new UdpTransport(
      (datagram, from) => this.onDatagram(datagram, from),
      (error) => this.reportError(error.code, error.description),
    );
    this.session = new ClientSession(
      {
        send: (packet) => this.sendToGateway(packet),
        emit: (event, ...args) => this.emitEvent(event, ...args),
        log: (level, type, message) => this.log(level, type, message),
        gatewayLost: (reason) => this.onGatewayLost(reason),
      },
      this.settings,
      createTimerQueue(),
      this.clock,
      () => this.props.timeout,
    );
    this.discovery = new Discovery(
      {
        broadcast: (packet) => this.sendPacket(packet, { address: this.settings.discoveryAddress, port: this.settings.discoveryPort }),
        sendTo: (packet, to) => this.sendPacket(packet, to),
        emit: (event, ...args) => this.emitEvent(event, ...args),
        log: (level, type, message) => this.log(level, type, message),
        currentGateway: () =>
          this.gateway && this.session.connected
            ? { gatewayId: this.discovery.gatewayIdOf(this.gateway) ?? 0, endpoint: this.gateway }
            : undefined,
      },
      this.settings,
      createTimerQueue(),
      this.clock,
      options.random,
    );
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
    return this.discovery.gateways;
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
      await this.preparing(() => this.useGateway(target));
      this.transport.hold(true);
      await this.run<void>((resolve, reject) => this.session.connect(params, resolve, reject));
    } catch (error) {
      this.closeIfIdle();
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
    await this.run<void>((resolve, reject) => this.session.disconnect(resolve, reject));
    this.closeIfIdle();
  }

  async registerTopic(topicName: string): Promise<number> {
    checkTopicName(topicName, roomAfter(REGISTER_HEADER_BYTES, this.settings.maxPacketSize));
    return this.run<number>((resolve, reject) => this.session.register(topicName, resolve, reject));
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
    return this.run<SubscribeResult>((resolve, reject) => this.session.subscribe(target, type, grantedQos, resolve, reject));
  }

  async unsubscribe(topic: TopicRef, topicIdType: TopicIdTypeArg): Promise<void> {
    const type = checkTopicIdType(topicIdType);
    const target = checkSubscribeTopic(topic, type, roomAfter(SUBSCRIBE_HEADER_BYTES, this.settings.maxPacketSize));
    return this.run<void>((resolve, reject) => this.session.unsubscribe(target, type, resolve, reject));
  }

  async ping(): Promise<void> {
    return this.run<void>((resolve, reject) => this.session.ping(resolve, reject));
  }

  /** Asleep for `duration` seconds once the gateway acknowledges (the gateway buffers messages meanwhile). */
  async startSleep(duration: number): Promise<void> {
    checkInteger(duration, 1, 65535, 'Sleep duration');
    return this.run<void>((resolve, reject) => this.session.sleep(duration, resolve, reject));
  }

  /** Awake until the gateway has sent what it buffered, then asleep again; resolves with the number of messages. */
  async retrieveMessages(): Promise<number> {
    return this.run<number>((resolve, reject) => this.session.retrieve(resolve, reject));
  }

  async stopSleep(): Promise<void> {
    return this.run<void>((resolve, reject) => this.session.wake(resolve, reject));
  }

  /** Sends willTopic, WillQOS and WillRetain to the gateway (an empty willTopic deletes the will). */
  async updateWillTopic(): Promise<void> {
    const topic = this.props.willTopic;
    if (topic !== '') checkTopicName(topic, roomAfter(WILLTOPIC_HEADER_BYTES, this.settings.maxPacketSize), 'Will topic');
    const will = { topic, qos: this.settings.willQos, retain: this.settings.willRetain };
    return this.run<void>((resolve, reject) => this.session.updateWillTopic(will, resolve, reject));
  }

  /** Sends willMessage to the gateway. */
  async updateWillMessage(): Promise<void> {
    const message = checkPayload(this.props.willMessage, roomAfter(WILLMSG_HEADER_BYTES, this.settings.maxPacketSize));
    return this.run<void>((resolve, reject) => this.session.updateWillMessage(message, resolve, reject));
  }

  /** Broadcasts SEARCHGW (radius 0..255) and resolves with the first gateway that answers. */
  async discoverGateway(radius = 0): Promise<GatewayInfoEvent> {
    checkInteger(radius, 0, 255, 'Radius');
    return this.preparing(async () => {
      await this.openSocket(this.discoveryFamily());
      return this.run<GatewayInfoEvent>((resolve, reject) => this.discovery.search(radius, this.props.timeout, resolve, reject));
    });
  }

  /** Answers the last SEARCHGW heard (or broadcasts) with a GWINFO for `gatewayId` at `gatewayAddress` (host:port). */
  async sendDiscoverResponse(gatewayId: number, gatewayAddress: string): Promise<void> {
    checkInteger(gatewayId, 0, 255, 'Gateway id');
    const endpoint = typeof gatewayAddress === 'string' ? parseEndpoint(gatewayAddress) : undefined;
    if (!endpoint) throw invalid(`Gateway address must be host:port, not ${JSON.stringify(gatewayAddress)}.`);
    await this.preparing(async () => {
      await this.openSocket(this.discoveryFamily());
      this.discovery.respond(gatewayId, endpoint, this.discovery.lastRequester);
    });
    this.closeIfIdle();
  }

  /** Node dispatches events itself: this resolves once pending I/O callbacks have run. */
  async doEvents(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Drops the connection without a word to the gateway, closes the sockets, and restores every default. */
  reset(): void {
    this.wantSession = false;
    this.session.reset();
    this.discovery.stop(new MqttSnError(ErrorCode.ABORTED, 'The client was reset.'));
    this.discovery.clear();
    this.transport.close();
    this.gateway = undefined;
    this.opening = undefined;
    this.disarm();
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
      return this.preparing(async () => {
        await this.useGateway({ host: this.props.remoteHost, port: this.props.remotePort });
        await this.run<void>((resolve, reject) => this.session.publish(params, resolve, reject));
        // Connectionless: the open socket must not keep the process alive on its own.
        if (this.session.state === 'disconnected') this.transport.hold(false);
      });
    }
    return this.run<void>((resolve, reject) => this.session.publish(params, resolve, reject));
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
    const candidates = this.candidates();
    if (candidates.length === 0) throw new MqttSnError(ErrorCode.NO_GATEWAY, 'Set remoteHost and remotePort, or Gateways, or discover a gateway first.');
    return candidates[0];
  }

  /** Configured gateways, then discovered ones, without repeats. */
  private candidates(): { host: string; port: number }[] {
    const seen = new Set<string>();
    const list: { host: string; port: number }[] = [];
    const add = (host: string, port: number): void => {
      const key = `${host}|${port}`;
      if (seen.has(key)) return;
      seen.add(key);
      list.push({ host, port });
    };
    for (const gw of parseGatewayList(this.settings.gateways)) add(gw.host, gw.port);
    for (const gw of this.discovery.gateways) add(gw.host, gw.port);
    return list;
  }

  /** Resolves a gateway, opens the socket for its family and makes it the destination. */
  private async useGateway(target: { host: string; port: number }): Promise<void> {
    const resolved = await resolveHost(target.host, this.props.localHost.includes(':') ? 6 : undefined);
    await this.openSocket(resolved.family);
    this.gateway = { address: resolved.address, port: target.port };
    if (target.host === this.props.remoteHost) this.props.remoteHost = resolved.address;
    if (this.discovery.gatewayIdOf(this.gateway) === undefined) this.discovery.remember(0, this.gateway, 'connect');
  }

  private discoveryFamily(): Family {
    return this.settings.discoveryAddress.includes(':') ? 6 : 4;
  }

  private async openSocket(family: Family): Promise<void> {
    while (this.opening) await this.opening;
    const opening = this.transport.open(family, this.props.localHost, this.props.localPort).then(async () => {
      this.transport.setMulticastInterface(this.props.localHost);
      if (this.settings.discoveryListen) {
        await this.transport.listenDiscovery(this.settings.discoveryAddress, this.settings.discoveryPort, this.props.localHost);
      }
    });
    this.opening = opening;
    try {
      await opening;
    } finally {
      this.opening = undefined;
    }
  }

  /** Runs a session call as a promise and re-arms the timer afterwards. */
  private run<T>(call: (resolve: (value: T) => void, reject: (error: MqttSnError) => void) => void): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      call(
        (value) => {
          resolve(value);
          this.arm();
        },
        (error) => {
          reject(error);
          this.arm();
        },
      );
    });
    this.arm();
    return promise;
  }

  private sendToGateway(packet: Packet): void {
    if (!this.gateway) throw new MqttSnError(ErrorCode.NO_GATEWAY);
    this.sendPacket(packet, this.gateway);
  }

  private sendPacket(packet: Packet, to: Endpoint): void {
    const datagram = encode(packet);
    if (datagram.length > this.settings.maxPacketSize) {
      throw new MqttSnError(ErrorCode.MESSAGE_TOO_LONG, `A ${packet.type} of ${datagram.length} octets exceeds MaxPacketSize.`);
    }
    this.transport.send(datagram, to);
    if (this.settings.logLevel >= 2) this.log(2, 'Packet', `Sent ${describe(packet)} to ${formatEndpoint(to)}.`);
  }

  private onDatagram(datagram: Buffer, from: Endpoint): void {
    // Our own SEARCHGW looped back is no other client's request.
    if (this.transport.sentByUs(from)) return;
    if (datagram.length < 2) {
      this.reportError(ErrorCode.MESSAGE_TOO_SHORT, `Ignored a ${datagram.length}-octet datagram from ${formatEndpoint(from)}.`);
      return;
    }
    let packet: Packet;
    try {
      packet = decode(datagram);
    } catch (err) {
      const error = err instanceof MqttSnError ? err : new MqttSnError(ErrorCode.UNEXPECTED_PACKET, String(err));
      this.reportError(error.code, `Malformed datagram from ${formatEndpoint(from)}: ${error.description}`);
      return;
    }
    if (this.settings.logLevel >= 2) this.log(2, 'Packet', `Received ${describe(packet)} from ${formatEndpoint(from)}.`);
    if (this.discovery.handle(packet, from)) {
      this.arm();
      this.closeIfIdle();
      return;
    }
    if (!this.gateway || from.port !== this.gateway.port || !sameAddress(from.address, this.gateway.address)) {
      this.log(2, 'Packet', `Ignored ${packet.type} from ${formatEndpoint(from)}: not the gateway.`);
      return;
    }
    this.session.handle(packet);
    this.arm();
    this.closeIfIdle();
  }

  /** One real timer, armed at the earliest deadline of the session and discovery queues. */
  private arm(): void {
    const at = Math.min(this.session.nextDeadline(), this.discovery.nextDeadline());
    // A timer due no later than needed stays: firing early costs one empty tick, re-arming on every call costs more.
    if (this.timer && this.timerAt <= at) return;
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.session.tick();
      this.discovery.tick();
      this.arm();
      this.closeIfIdle();
    }, Math.max(0, Math.ceil(at - this.clock())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** With no session, no search and no listener, nothing needs the socket. */
  /** Runs socket preparation (DNS, bind) that must not be undone by closeIfIdle() meanwhile. */
  private async preparing<T>(work: () => Promise<T>): Promise<T> {
    this.preparations++;
    try {
      return await work();
    } finally {
      this.preparations--;
    }
  }

  private preparations = 0;

  private closeIfIdle(): void {
    if (
      this.session.state === 'disconnected' &&
      this.preparations === 0 &&
      !this.discovery.searching &&
      !this.failingOver &&
      !this.settings.discoveryListen
    ) {
      this.transport.close();
      this.disarm();
      this.arm();
    }
  }

  private failingOver = false;

  private onGatewayLost(reason: MqttSnError): boolean {
    // A disconnect() from a `disconnected` listener comes first: nothing to replace then.
    if (!this.settings.failover || !this.wantSession) return false;
    const current = this.gateway;
    const all = this.candidates();
    const at = current ? all.findIndex((c) => c.port === current.port && sameAddress(c.host, current.address)) : -1;
    const order = [...all.slice(at + 1), ...all.slice(0, Math.max(at, 0))].filter(
      (c) => !current || c.port !== current.port || !sameAddress(c.host, current.address),
    );
    if (order.length === 0) return false;
    this.failingOver = true;
    void this.failover(order, reason).finally(() => {
      this.failingOver = false;
      this.closeIfIdle();
    });
    return true;
  }

  private async failover(order: { host: string; port: number }[], reason: MqttSnError): Promise<void> {
    for (const next of order) {
      if (!this.wantSession) break;
      this.log(1, 'Reconnect', `Gateway lost (${reason.description}); trying ${next.host}:${next.port}.`);
      try {
        await this.useGateway(next);
        if (!this.wantSession) break;
        await this.run<void>((resolve, reject) => this.session.reconnect(resolve, reject));
        this.props.remoteHost = (this.gateway as Endpoint).address;
        this.props.remotePort = next.port;
        this.log(1, 'Reconnect', `Now connected to ${next.host}:${next.port}.`);
        return;
      } catch (err) {
        const error = err as MqttSnError;
        this.log(1, 'Reconnect', `${next.host}:${next.port} failed: ${error.description}`);
        if (error.code === ErrorCode.ABORTED) break;
      }
    }
    this.session.abandon(reason);
  }

  private applySettingSideEffects(): void {
    if (this.settings.discoveryListen && !this.transport.listening) {
      // Listening starts now, so ADVERTISE and SEARCHGW are heard before any connect.
      this.transport
        .listenDiscovery(this.settings.discoveryAddress, this.settings.discoveryPort, this.props.localHost)
        .catch((error: MqttSnError) => this.reportError(error.code, error.description));
    } else if (!this.settings.discoveryListen && this.transport.listening) {
      this.transport.closeDiscoverySocket();
    }
    this.arm();
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

function describe(packet: Packet): string {
  switch (packet.type) {
    case 'PUBLISH':
      return `PUBLISH(id ${String(packet.topicId)}, qos ${packet.qos}, msgId ${packet.msgId}${packet.dup ? ', dup' : ''}, ${packet.payload.length} octets)`;
    case 'PUBACK':
    case 'REGACK':
      return `${packet.type}(id ${packet.topicId}, msgId ${packet.msgId}, rc ${packet.returnCode})`;
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return `${packet.type}(msgId ${packet.msgId})`;
    default:
      return packet.type;
  }
}
