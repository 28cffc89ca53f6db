/**
 * MqttSnGateway: the datagram side (a transport from lib/transport: UDP by
 * default; forwarder encapsulation, discovery), the sessions keyed by address
 * and client id, and the broker side (embedded aedes or a broker URL, one
 * connection per client or one shared).
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { decode, encode } from '../codec';
import { ReturnCode, TopicIdType, type Connect, type Packet, type PacketOf, type SessionQoS } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { embeddedDialer, urlDialer, type BrokerDialer } from './broker-connection';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker';
import { resolveOptions, type GatewayOptions, type LogLevel, type ResolvedOptions } from './options';
import type { EndReason, SessionHost, SessionTimers, UpstreamLink, UpstreamSink } from './ports';
import { startMetricsServer, type MetricsServer } from './metrics';
import { QuietAnswers } from './quiet-answers';
import { startStatsTopics } from './stats-topics';
import { GatewaySession } from './gateway-session';
import { GatewayTimers } from './gateway-timers';
import { countClosed, countCongestion, countMalformed, countUpstream, createStats, type GatewayStats } from './stats';
import { topicNameFault } from './topic-policy';
import { PredefinedIndex } from './topic-registry';
import { formatEndpoint, isMulticast, sameAddress, type Endpoint } from '../transport/endpoint';
import { DtlsTransport } from '../transport/dtls';
import type { DatagramTransport, ReceivedDatagram } from '../transport/types';
import { AggregatingLink, SharedConnection, TransparentLink } from './upstream';
import { AddressProof, answerOf, awaitedId } from './address-proof';
import { BrokerConnections } from './broker-connections';
import { MemoryBudget } from './memory-budget';
import { RateLimit, SourceCounter } from './source-limits';
import { mayTakeOver } from './takeover';
import type { DownstreamMessage } from './message-queue';
import type { StoredSession } from './session-store';

/** Where a client's packets come from and its answers go. */
interface Route {
  address: string;
  port: number;
  /** The listener the client reached: plain UDP or DTLS (absent: the plain one). */
  via?: DatagramTransport;
  /** Over DTLS: the identity the client proved (PSK identity or certificate common name). */
  identity?: string;
  /** Set when a forwarder encapsulated the packet. */
  wirelessNodeId?: Buffer;
}

export interface GatewayLogEntry {
  level: LogLevel;
  message: string;
  /** Structured context where the event has it (for JSON log lines). */
  clientId?: string;
  address?: string;
  port?: number;
  reason?: string;
  /** An MqttSnError code or an MQTT-SN return code, as `reason` says. */
  code?: number;
}

export type GatewayLogContext = Omit<GatewayLogEntry, 'level' | 'message'>;

export interface GatewayClientEvent {
  clientId: string;
  address: string;
  port: number;
  /** Why the session ended (disconnect events only). */
  reason?: EndReason;
}

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** A DISCONNECT from a sender without a session is answered at most once in this long. */
const UNKNOWN_DISCONNECT_QUIET_MS = 5000;
/** Senders remembered for that; the oldest are forgotten first. */
const UNKNOWN_DISCONNECT_MEMORY = 1024;
/** Sources whose rates (new sessions, SEARCHGW) are remembered; the least recent are forgotten first. */
const RATE_MEMORY = 4096;
const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const realTimers: SessionTimers = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};

function routeKey(route: Route): string {
  // A DTLS client and a plain datagram from the same address are different senders.
  const base = `${route.via?.kind === 'dtls' ? 'dtls|' : ''}${route.address}|${route.port}`;
  return route.wirelessNodeId ? `${base}|${route.wirelessNodeId.toString('hex')}` : base;
}

/** `packet` as it goes to `route`: wrapped for a forwarder's node with its wireless node id. */
/** Where a route's datagrams go. */
function endpointOf(route: Route): Endpoint {
  return { address: route.address, port: route.port };
}

function forRoute(route: Route, packet: Packet): Packet {
  return route.wirelessNodeId ? { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: route.wirelessNodeId, packet } : packet;
}

export class MqttSnGateway extends EventEmitter {
  readonly options: ResolvedOptions;
  readonly stats: GatewayStats = createStats();
  /** URL of the broker in use: the embedded one (mqtt://127.0.0.1:PORT) or the configured one. */
  brokerUrl = '';

  /** The plain UDP listener (absent when DTLS is the only one). */
  private transport: DatagramTransport | undefined;
  /** The pre-defined ids every session without a table of its own shares (rebuilt after a reload). */
  private sharedPredefined: PredefinedIndex | undefined;
  private dtls: DtlsTransport | undefined;
  private embedded: EmbeddedBroker | undefined;
  private dialer: BrokerDialer | undefined;
  private shared: SharedConnection | undefined;
  private readonly connections = new BrokerConnections();
  private readonly byKey = new Map<string, GatewaySession>();
  private readonly byClientId = new Map<string, GatewaySession>();
  private readonly routes = new Map<string, Route>();
  /** Subscriptions of ended sessions that asked to be kept (cleanSession off). */
  private readonly persisted = new Map<string, Map<string, SessionQoS>>();
  /** Messages of such sessions from the session store, for their next CONNECT. */
  private readonly persistedMessages = new Map<string, DownstreamMessage[]>();
  /** A write of the session store is due at the end of this turn. */
  private storeWrite: ReturnType<typeof setImmediate> | undefined;
  /** The store was read at start: only then may it be written (a failed start must not empty it). */
  private storeRead = false;
  private advertiseTimer: ReturnType<typeof setInterval> | undefined;
  private metricsServer: MetricsServer | undefined;
  private stopStatsTopics: (() => void) | undefined;
  private running = false;
  private readonly host: SessionHost<GatewaySession>;
  /** The sessions' timers: one timer queue, one armed timer for the whole gateway. */
  private readonly sessionTimers: GatewayTimers;
  private readonly unknownDisconnects = new QuietAnswers(UNKNOWN_DISCONNECT_QUIET_MS, UNKNOWN_DISCONNECT_MEMORY);
  /** Sessions per source IP address (the address of every route in `routes`). */
  private readonly perSource = new SourceCounter();
  /** What each address:port sent and was sent, until it proves it receives. */
  private readonly proof: AddressProof;
  private newSessions!: RateLimit;
  private searches!: RateLimit;

  constructor(
    options: GatewayOptions = {},
    private readonly timers: SessionTimers = realTimers,
  ) {
    super();
    this.options = resolveOptions(options);
    this.proof = new AddressProof(Math.max(4096, 2 * this.options.limits.clients));
    const memory = new MemoryBudget(
      () => this.options.limits,
      () => {
        let total = 0;
        for (const session of this.byClientId.values()) total += session.memoryBytes();
        return total;
      },
      () => this.timers.now(),
    );
    this.setRateLimits();
    this.sessionTimers = new GatewayTimers(timers);
    this.host = {
      options: this.options,
      timers: this.sessionTimers,
      stats: this.stats,
      takeMemory: (holds, bytes) => memory.take(holds, bytes),
      send: (session, packet) => this.sendTo(this.routes.get(session.key), packet, 'session'),
      log: (level, message) => this.log(level, message),
      connected: (session) => this.onConnected(session),
      ended: (session, reason) => this.onEnded(session, reason),
      changed: (session) => {
        if (!session.cleanSession) this.storeLater();
      },
    };
  }

  /** The UDP address the gateway listens on (the DTLS listener's when it is the only one). */
  address(): { address: string; port: number } {
    const local = (this.transport ?? this.dtls)?.localAddress();
    if (!local) throw new MqttSnError(ErrorCode.WRONG_STATE, 'The gateway is not started.');
    return local;
  }

  /** The address of the DTLS listener. */
  dtlsAddress(): Endpoint {
    const local = this.dtls?.localAddress();
    if (!local) throw new MqttSnError(ErrorCode.WRONG_STATE, 'The gateway has no DTLS listener running.');
    return local;
  }

  /** Where `/metrics` and `/health` are served (http://host:port), when the metrics option is set. */
  get metricsUrl(): string | undefined {
    return this.metricsServer?.url;
  }

  /** Live sessions by state. */
  sessionStates(): Record<GatewaySession['state'], number> {
    const states = { connecting: 0, active: 0, asleep: 0, awake: 0, ended: 0 };
    for (const session of this.byClientId.values()) states[session.state]++;
    return states;
  }

  /** Messages queued for clients, and their octets. */
  buffered(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const session of this.byClientId.values()) {
      messages += session.queued;
      bytes += session.queuedBytes();
    }
    return { messages, bytes };
  }

  /** Whether the gateway can serve: its transport (the UDP socket) bound and its broker connection up. */
  health(): { udp: boolean; broker: boolean } {
    const listeners = [this.transport, this.dtls].filter((listener) => listener !== undefined);
    return { udp: this.running && listeners.length > 0 && listeners.every((listener) => listener.bound), broker: this.shared?.connected ?? false };
  }

  /**
   * Publishes a gateway figure to the broker at QoS 0. The embedded broker takes
   * it directly (so `$SYS/...` topics work there); another broker gets it over
   * the shared connection, where a `$` topic is refused (see resolveOptions).
   */
  publishStatus(topic: string, payload: string): void {
    if (this.embedded) this.embedded.publish(topic, Buffer.from(payload));
    else if (this.shared?.connected) this.shared.publish({ topic, payload: Buffer.from(payload), qos: 0, retain: false }, () => undefined);
  }

  /**
   * Applies reloadable options to the running gateway without dropping a
   * session: pre-defined topics (for every session at once), limits, retry and
   * log level (limits sized per session at its start apply to new sessions).
   * Options that need a restart (host, port, broker, mode) must be unchanged.
   */
  reload(options: GatewayOptions): void {
    const next = resolveOptions(options);
    for (const key of ['host', 'port', 'broker', 'embeddedBrokerPort', 'mode', 'gatewayId'] as const) {
      if (next[key] !== this.options[key]) {
        throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Invalid gateway option: ${key} cannot change without a restart.`);
      }
    }
    if (next.dtls?.port !== this.options.dtls?.port || next.dtls?.only !== this.options.dtls?.only) {
      throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, 'Invalid gateway option: the DTLS listener cannot start, stop or move without a restart.');
    }
    if (next.dtls && this.dtls) {
      // New pre-shared keys and client id bindings apply to the next handshakes and CONNECTs.
      this.dtls.setPskKeys(next.dtls.transportOptions().pskKeys);
      this.options.dtls = next.dtls;
    }
    this.options.predefined = next.predefined;
    this.options.clientPredefined = next.clientPredefined;
    this.sharedPredefined = undefined;
    Object.assign(this.options.limits, next.limits);
    Object.assign(this.options.retry, next.retry);
    this.options.keepAliveTolerance = next.keepAliveTolerance;
    this.options.logLevel = next.logLevel;
    Object.assign(this.options.topics, next.topics);
    this.options.takeover = next.takeover;
    this.options.wakeMove = next.wakeMove;
    this.options.willUpdateInterval = next.willUpdateInterval;
    this.setRateLimits();
    for (const session of this.byClientId.values()) session.setPredefined(this.predefinedFor(session.clientId));
    this.log('info', `configuration reloaded: ${Object.keys(next.predefined).length} pre-defined topics, limits ${JSON.stringify(next.limits)}`);
  }

  private setRateLimits(): void {
    const { limits } = this.options;
    const now = this.timers.now();
    this.newSessions = new RateLimit(limits.newSessionsPerSource, limits.newSessionsTotal, RATE_MEMORY, now);
    // The total bounds what many forged sources can draw together.
    this.searches = new RateLimit(limits.searchPerSource, limits.searchPerSource * 100, RATE_MEMORY, now);
  }

  /** Number of live sessions (connected, asleep or awake). */
  get clientCount(): number {
    return this.byClientId.size;
  }

  async start(): Promise<void> {
    if (this.running) throw new MqttSnError(ErrorCode.WRONG_STATE, 'The gateway is already started.');
    this.running = true;
    try {
      if (this.options.broker) {
        this.brokerUrl = this.options.broker;
        this.dialer = urlDialer(this.brokerUrl);
      } else {
        this.embedded = await startEmbeddedBroker(this.options.embeddedBrokerPort);
        this.brokerUrl = this.embedded.url;
        // The gateway's own connections stay in memory; the TCP listener is for other MQTT clients.
        this.dialer = embeddedDialer(this.embedded);
        this.log('info', `embedded MQTT broker listening on ${this.brokerUrl}`);
      }
      const sharedId = `mqttsn-gw-${this.options.gatewayId}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
      this.shared = new SharedConnection(this.dialer, sharedId, (l, m) => this.log(l, m));
      try {
        await this.shared.start();
      } catch (error) {
        throw new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot reach the MQTT broker at ${this.brokerUrl}: ${(error as Error).message}`);
      }
      await this.restoreSessions();
      await this.bind();
      const listening = [this.transport, this.dtls].filter((listener) => listener !== undefined).map((listener) => `${listener.kind} ${formatEndpoint(listener.localAddress() as Endpoint)}`);
      this.log('info', `MQTT-SN gateway ${this.options.gatewayId} (${this.options.mode}) listening on ${listening.join(' and ')}, broker ${this.brokerUrl}`);
      this.startAdvertising();
      await this.startOperatorViews();
    } catch (error) {
      await this.stop();
      if (error instanceof MqttSnError) throw error;
      throw new MqttSnError(ErrorCode.SOCKET_ERROR, `The gateway could not start: ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.advertiseTimer) clearInterval(this.advertiseTimer);
    this.advertiseTimer = undefined;
    this.stopStatsTopics?.();
    this.stopStatsTopics = undefined;
    const metricsServer = this.metricsServer;
    this.metricsServer = undefined;
    await metricsServer?.close();
    // Kept as they are now, sleeping clients included: the sessions ending below end for this run only.
    this.storeNow();
    this.storeRead = false;
    for (const session of [...this.byClientId.values()]) session.terminate('shutdown');
    this.byKey.clear();
    this.byClientId.clear();
    this.routes.clear();
    this.perSource.clear();
    this.proof.clear();
    this.stats.clients = 0;
    this.sessionTimers.close();
    await this.connections.settle();
    await this.shared?.stop();
    this.shared = undefined;
    const listeners = [this.transport, this.dtls];
    this.transport = undefined;
    this.dtls = undefined;
    await Promise.all(listeners.map((listener) => listener?.close()));
    const embedded = this.embedded;
    this.embedded = undefined;
    await embedded?.close();
    this.log('info', 'gateway stopped');
  }

  private async bind(): Promise<void> {
    const { host, port, advertise, dtls } = this.options;
    if (dtls) {
      // Files are read and credentials checked here: a bad one is a coded error at start.
      this.dtls = new DtlsTransport(this.options.transport(), { role: 'server', ...dtls.transportOptions() });
      this.listen(this.dtls);
      const dtlsHost = dtls.host ?? host;
      await this.dtls.bind({ family: isIP(dtlsHost) === 6 ? 6 : 4, address: dtlsHost, port: dtls.port, receiveBufferBytes: RECEIVE_BUFFER_BYTES });
      if (dtls.only) return;
    }
    const transport = this.options.transport();
    this.listen(transport);
    this.transport = transport;
    await transport.bind({
      family: isIP(host) === 6 ? 6 : 4,
      address: host,
      port,
      // ADVERTISE to a broadcast address needs the permission (v1.2 §6.1).
      broadcast: advertise !== undefined && !isMulticast(advertise.address) && !advertise.address.startsWith('127.') && advertise.address !== '::1',
      // Bursts from many clients: a larger receive buffer (the kernel may cap it) loses fewer datagrams.
      receiveBufferBytes: RECEIVE_BUFFER_BYTES,
      // Sharing the port (--workers): the one that answers discovery gets every unicast SEARCHGW.
      searchToFirst: this.options.discovery,
    });
  }

  private listen(transport: DatagramTransport): void {
    transport.onReceive((batch) => this.onBatch(batch, transport));
    transport.onError((error) => {
      // A failed DTLS handshake is the client's problem, not the gateway's: logged, not an 'error' event.
      if (transport.kind === 'dtls' && error.code !== ErrorCode.SOCKET_ERROR) {
        this.log('warn', `dtls: ${error.message}`, { reason: 'dtls', code: error.code });
        return;
      }
      this.log('error', `${transport.kind} transport: ${error.message}`);
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
  }

  // ---------------------------------------------------------------- logging and events

  private log(level: LogLevel, message: string, context?: GatewayLogContext): void {
    if (LEVEL_RANK[level] > LEVEL_RANK[this.options.logLevel]) return;
    const entry: GatewayLogEntry = { level, message, ...context };
    this.emit('log', entry);
  }

  private clientEvent(session: GatewaySession, reason?: EndReason): GatewayClientEvent {
    const route = this.routes.get(session.key);
    return { clientId: session.clientId, address: route?.address ?? '', port: route?.port ?? 0, ...(reason ? { reason } : {}) };
  }

  private onConnected(session: GatewaySession): void {
    const { address, port } = this.clientEvent(session);
    this.log('info', `client ${session.clientId} connected`, { clientId: session.clientId, address, port });
    this.emit('clientConnected', this.clientEvent(session));
  }

  private onEnded(session: GatewaySession, reason: EndReason): void {
    const event = this.clientEvent(session, reason);
    const route = this.routes.get(session.key);
    // A DTLS client that left or was lost needs no association any more: its next CONNECT handshakes again.
    // (Not a forwarder's: the association carries its other nodes too.)
    if (route && this.dtls && route.via === this.dtls && !route.wirelessNodeId && (reason === 'lost' || reason === 'disconnected')) this.dtls.disconnect(route);
    if (this.byClientId.get(session.clientId) === session) this.byClientId.delete(session.clientId);
    this.forgetAddress(session);
    this.stats.clients = this.byClientId.size;
    countClosed(this.stats, reason);
    if (!session.cleanSession && reason !== 'refused' && reason !== 'replaced') {
      this.persisted.delete(session.clientId);
      this.persisted.set(session.clientId, new Map(session.subscriptions));
      // Bounded like the sessions themselves: the oldest kept state goes first.
      if (this.persisted.size > this.options.limits.clients) {
        const oldest = this.persisted.keys().next().value;
        if (oldest !== undefined) this.persisted.delete(oldest);
      }
    }
    if (reason === 'shutdown') return;
    this.log('info', `client ${session.clientId} ${reason === 'lost' ? 'lost' : `disconnected (${reason})`}`, {
      clientId: session.clientId,
      address: event.address,
      port: event.port,
      reason,
    });
    this.emit(reason === 'lost' ? 'clientLost' : 'clientDisconnected', event);
  }

  // ---------------------------------------------------------------- inbound

  private onBatch(batch: readonly ReceivedDatagram[], via: DatagramTransport): void {
    for (const datagram of batch) {
      // A session may stop the gateway from a handler: the rest of the batch has nobody to go to.
      if (!this.running) return;
      this.onDatagram(datagram, via);
    }
  }

  private onDatagram({ data, from: rinfo, packet: decoded, error: decodeError, identity }: ReceivedDatagram, via: DatagramTransport): void {
    this.stats.received++;
    const from = `${rinfo.address}|${rinfo.port}`;
    // A DTLS peer proved its address with the cookie exchange: no octet accounting for it.
    const secure = via === this.dtls;
    if (!secure) this.proof.received(from, data.length);
    // An empty datagram is a client's reachability probe (lib/client/route-probe.ts): nothing to answer, nothing wrong.
    if (data.length === 0) return;
    let packet: Packet;
    try {
      if (decodeError) throw decodeError;
      packet = decoded ?? decode(data);
    } catch (error) {
      countMalformed(this.stats, error instanceof MqttSnError ? error.code : ErrorCode.UNEXPECTED_PACKET);
      this.log('debug', `malformed datagram from ${formatEndpoint(rinfo)} dropped: ${(error as Error).message}`, {
        address: rinfo.address,
        port: rinfo.port,
        reason: 'malformed',
        code: error instanceof MqttSnError ? error.code : ErrorCode.UNEXPECTED_PACKET,
      });
      return;
    }
    const route: Route = { address: rinfo.address, port: rinfo.port, ...(secure ? { via } : {}), ...(identity !== undefined ? { identity } : {}) };
    if (packet.type === 'ENCAPSULATED') {
      if (packet.packet.type === 'ENCAPSULATED') {
        countMalformed(this.stats, ErrorCode.UNEXPECTED_PACKET);
        this.log('debug', `nested encapsulation from ${formatEndpoint(rinfo)} dropped`);
        return;
      }
      route.wirelessNodeId = packet.wirelessNodeId;
      packet = packet.packet;
    }
    const answer = answerOf(packet);
    if (answer !== undefined && !secure) this.proven(from, route, answer);
    this.dispatch(packet, route);
  }

  private dispatch(packet: Packet, route: Route): void {
    const key = routeKey(route);
    const session = this.byKey.get(key);
    switch (packet.type) {
      case 'SEARCHGW':
        if (!this.options.discovery) return;
        if (this.searches.take(route.address, this.timers.now()) !== 'ok') {
          this.stats.searchLimited++;
          return;
        }
        this.sendTo(route, { type: 'GWINFO', gwId: this.options.gatewayId });
        return;
      case 'ADVERTISE':
      case 'GWINFO':
        return;
      case 'CONNECT':
        this.onConnect(packet, route, key);
        return;
      case 'PUBLISH':
        if (packet.qos === -1 && !session) {
          this.onConnectionlessPublish(packet);
          return;
        }
        break;
      case 'PINGREQ':
        if (!session && packet.clientId !== undefined) {
          const sleeper = this.byClientId.get(packet.clientId);
          if (sleeper && (sleeper.state === 'asleep' || sleeper.state === 'awake') && this.mayWakeFrom(sleeper, route) && !this.identityRefusal(sleeper, route)) {
            // The sleeping client woke up with a new address.
            this.rebind(sleeper, key, route);
            sleeper.handle(packet);
            return;
          }
        }
        break;
      default:
        break;
    }
    if (session) {
      session.handle(packet);
      return;
    }
    this.stats.unknownSender++;
    if (packet.type === 'DISCONNECT' && !this.unknownDisconnects.mayAnswer(key, this.timers.now())) {
      this.log('debug', `DISCONNECT from ${route.address}:${route.port} without a session, answered recently: dropped`);
      return;
    }
    this.log('debug', `${packet.type} from ${route.address}:${route.port} without a session: DISCONNECT`);
    this.sendTo(route, { type: 'DISCONNECT' });
  }

  private onConnect(packet: Connect, route: Route, key: string): void {
    const previous = this.byClientId.get(packet.clientId);
    const refusal = this.options.dtls?.rules.refusal(packet.clientId, route.identity) ?? (previous && this.identityRefusal(previous, route));
    if (refusal) {
      this.log('warn', `client ${packet.clientId} refused: ${refusal}`, { clientId: packet.clientId, address: route.address, port: route.port, reason: 'identity', code: ReturnCode.NOT_SUPPORTED });
      this.sendTo(route, { type: 'CONNACK', returnCode: ReturnCode.NOT_SUPPORTED });
      return;
    }
    if (previous?.key === key && previous.isCopyOfConnect(packet)) {
      // A copy the network delayed or duplicated: answered, the session stays as it is.
      previous.answerConnectCopy();
      return;
    }
    const held = previous && previous.key !== key ? this.routes.get(previous.key) : undefined;
    if (previous && held) {
      const sameHost = sameAddress(held.address, route.address);
      if (!mayTakeOver(this.options.takeover, previous.alive, sameHost)) {
        return this.refuse(route, packet.clientId, 'takeover', `client id live at another address (takeover ${this.options.takeover})`);
      }
    }
    if (previous && !packet.cleanSession) {
      // The same client again (from sleep, or a reconnect keeping its session).
      if (held) this.tellReplaced(held, route);
      if (previous.key !== key) this.rebind(previous, key, route);
      previous.connect(packet);
      return;
    }
    const rate = this.newSessions.take(route.address, this.timers.now());
    if (rate !== 'ok') {
      const source = rate === 'source';
      const why = source ? `${this.options.limits.newSessionsPerSource} new sessions a second from ${route.address}` : `${this.options.limits.newSessionsTotal} new sessions a second`;
      return this.refuse(route, packet.clientId, source ? 'newSessionsPerSource' : 'newSessionsTotal', why);
    }
    if (held) this.tellReplaced(held, route);
    previous?.terminate('replaced');
    const atAddress = this.byKey.get(key);
    if (atAddress) atAddress.terminate('replaced');
    if (this.byClientId.size >= this.options.limits.clients) {
      return this.refuse(route, packet.clientId, 'clients', `${this.options.limits.clients} clients already`);
    }
    if (this.perSource.count(route.address) >= this.options.limits.sessionsPerSource) {
      return this.refuse(route, packet.clientId, 'sessionsPerSource', `${this.options.limits.sessionsPerSource} sessions from ${route.address} already`);
    }
    const predefined = this.predefinedFor(packet.clientId);
    const restored = packet.cleanSession ? undefined : this.persisted.get(packet.clientId);
    const messages = packet.cleanSession ? undefined : this.persistedMessages.get(packet.clientId);
    this.persisted.delete(packet.clientId);
    this.persistedMessages.delete(packet.clientId);
    const session = new GatewaySession(this.host, key, packet.clientId, predefined, (sink) => this.createLink(sink, route.identity), restored);
    if (messages) session.restoreMessages(messages);
    this.byKey.set(key, session);
    this.byClientId.set(packet.clientId, session);
    this.setRoute(key, route);
    this.stats.clients = this.byClientId.size;
    this.stats.sessionsOpened++;
    session.connect(packet);
  }

  // ---------------------------------------------------------------- session store

  /**
   * Sessions from the store (aggregating mode): sleeping clients asleep again, the others kept for
   * their next CONNECT. Resolves once the broker has the sleepers' subscriptions again.
   */
  private async restoreSessions(): Promise<void> {
    const store = this.options.sessionStore;
    if (!store) return;
    let stored: StoredSession[];
    try {
      stored = store.load();
    } catch (error) {
      throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Cannot read the session store: ${(error as Error).message}`);
    }
    this.storeRead = true;
    const subscribed: Promise<void>[] = [];
    for (const entry of stored) {
      if (this.byClientId.has(entry.clientId)) continue;
      const subscriptions = new Map(entry.subscriptions);
      const asleep = entry.asleep;
      if (!asleep) {
        this.persisted.set(entry.clientId, subscriptions);
        if (entry.messages.length > 0) this.persistedMessages.set(entry.clientId, entry.messages);
        continue;
      }
      const route: Route = { address: asleep.address, port: asleep.port };
      const key = routeKey(route);
      const session = new GatewaySession(this.host, key, entry.clientId, this.predefinedFor(entry.clientId), (sink) => this.createLink(sink, undefined), subscriptions);
      this.byKey.set(key, session);
      this.byClientId.set(entry.clientId, session);
      this.setRoute(key, route);
      subscribed.push(new Promise((resolve) => session.resumeAsleep({ ...entry, asleep }, resolve)));
    }
    this.stats.clients = this.byClientId.size;
    await Promise.all(subscribed);
    if (stored.length > 0) this.log('info', `session store: ${stored.length} sessions restored, ${subscribed.length} of them asleep`);
  }

  /** Writes the session store at the end of this turn (one write for whatever changed in it). */
  private storeLater(): void {
    if (!this.storeRead || this.storeWrite || !this.running) return;
    this.storeWrite = setImmediate(() => {
      this.storeWrite = undefined;
      this.storeNow();
    });
  }

  /** The sessions of clients with clean session off, live and ended, as the store keeps them. */
  private storeNow(): void {
    const store = this.options.sessionStore;
    if (this.storeWrite) clearImmediate(this.storeWrite);
    this.storeWrite = undefined;
    if (!store || !this.storeRead) return;
    const sessions: StoredSession[] = [];
    for (const session of this.byClientId.values()) {
      if (session.cleanSession || session.state === 'ended') continue;
      const { sleepSeconds, ...kept } = session.snapshot();
      const route = this.routes.get(session.key);
      // A DTLS association or a forwarder does not outlive the gateway: such a sleeper CONNECTs again.
      const reachable = route && !route.via && !route.wirelessNodeId;
      sessions.push(sleepSeconds !== undefined && reachable ? { ...kept, asleep: { address: route.address, port: route.port, seconds: sleepSeconds } } : kept);
    }
    for (const [clientId, subscriptions] of this.persisted) {
      if (this.byClientId.has(clientId)) continue;
      sessions.push({ clientId, subscriptions: [...subscriptions], messages: this.persistedMessages.get(clientId) ?? [], keepAlive: 0 });
    }
    try {
      store.save(sessions);
    } catch (error) {
      this.log('error', `cannot write the session store: ${(error as Error).message}`);
    }
  }

  /** The pre-defined ids of `clientId`: the gateway's table, shared, or its own on top of it. */
  private predefinedFor(clientId: string): PredefinedIndex {
    const own = this.options.clientPredefined[clientId];
    if (own) return new PredefinedIndex({ ...this.options.predefined, ...own });
    this.sharedPredefined ??= new PredefinedIndex(this.options.predefined);
    return this.sharedPredefined;
  }

  /** The address that held a session taken over is told: it is no longer connected (v1.2 §6.14). */
  private tellReplaced(held: Route, by: Route): void {
    this.log('info', `session moves from ${held.address}:${held.port} to ${by.address}:${by.port}: DISCONNECT to the old address`);
    this.sendTo(held, { type: 'DISCONNECT' });
  }

  /** CONNACK "congestion" because of `limit`: counted (stats.congestionByLimit) and logged. */
  private refuse(route: Route, clientId: string, limit: string, why: string): void {
    countCongestion(this.stats, limit);
    this.log('warn', `client ${clientId} refused: ${why}`, {
      clientId,
      address: route.address,
      port: route.port,
      reason: 'congestion',
      code: ReturnCode.CONGESTION,
    });
    this.sendTo(route, { type: 'CONNACK', returnCode: ReturnCode.CONGESTION });
  }

  private setRoute(key: string, route: Route): void {
    const old = this.routes.get(key);
    if (old) this.perSource.remove(old.address);
    this.proof.restart(`${route.address}|${route.port}`);
    this.routes.set(key, route);
    this.perSource.add(route.address);
  }

  private dropRoute(key: string): void {
    const old = this.routes.get(key);
    if (!old) return;
    this.perSource.remove(old.address);
    this.proof.restart(`${old.address}|${old.port}`);
    this.routes.delete(key);
  }

  private createLink(sink: UpstreamSink, identity: string | undefined): UpstreamLink {
    const shared = this.shared as SharedConnection;
    if (this.options.mode === 'aggregating') return new AggregatingLink(shared, sink);
    const username = this.options.dtls?.identityAsUsername ? identity : undefined;
    return new TransparentLink(this.dialer as BrokerDialer, sink, this.connections, (l, m) => this.log(l, m), this.options.willUpdateInterval, username);
  }

  /** Why `route` may not take over `session`: a session a DTLS identity holds stays with that identity. */
  private identityRefusal(session: GatewaySession, route: Route): string | undefined {
    const holder = this.routes.get(session.key);
    if (holder?.identity === undefined || holder.identity === route.identity) return undefined;
    return `the session of ${session.clientId} belongs to DTLS identity "${holder.identity}"`;
  }

  /** Whether a sleeping client's buffer may go to `route`, which is not the address it slept from. */
  private mayWakeFrom(sleeper: GatewaySession, route: Route): boolean {
    const slept = this.routes.get(sleeper.key);
    switch (this.options.wakeMove) {
      case 'any':
        return true;
      case 'same-host':
        return slept !== undefined && sameAddress(slept.address, route.address);
      default:
        return false;
    }
  }

  /** Moves a session to a new address (or forwarder node). */
  private rebind(session: GatewaySession, key: string, route: Route): void {
    const other = this.byKey.get(key);
    if (other && other !== session) other.terminate('replaced');
    this.forgetAddress(session);
    session.key = key;
    this.byKey.set(key, session);
    this.setRoute(key, route);
  }

  /** Drops the address a session was reached at, unless another session holds it now. */
  private forgetAddress(session: GatewaySession): void {
    if (this.byKey.get(session.key) !== session) return;
    this.byKey.delete(session.key);
    this.dropRoute(session.key);
  }

  /** QoS -1 (v1.2 §6.8): pre-defined ids (common to all clients) or short names only. */
  private onConnectionlessPublish(packet: PacketOf<'PUBLISH'>): void {
    let topic: string | undefined;
    if (packet.topicIdType === TopicIdType.SHORT && typeof packet.topicId === 'string') topic = packet.topicId;
    else if (packet.topicIdType === TopicIdType.PREDEFINED) topic = this.options.predefined[String(packet.topicId)];
    // A short name the broker does not take would make it drop the shared connection.
    if (topic === undefined || topicNameFault(topic, this.options.topics) || !this.shared) {
      this.log('debug', `QoS -1 PUBLISH with unknown or invalid topic ${String(packet.topicId)} dropped`);
      return;
    }
    this.stats.qosMinusOne++;
    countUpstream(this.stats, -1);
    this.shared.publish({ topic, payload: packet.payload, qos: 0, retain: packet.retain }, () => undefined);
  }

  // ---------------------------------------------------------------- outbound

  /** An answer from `from`: when it proves the address receives, what was held for it goes out. */
  private proven(from: string, route: Route, answer: number | 'ping'): void {
    const transport = this.transport;
    const held = this.proof.answered(from, answer);
    if (held.length === 0 || !transport) return;
    this.log('debug', `${route.address}:${route.port} receives: ${held.length} datagrams held for it sent`);
    for (const datagram of held) {
      this.stats.sent++;
      transport.send(datagram, endpointOf(route));
    }
  }

  /**
   * Sends `packet` to `route`. An address that has not proven it receives gets
   * no more octets than it sent (AddressProof); a session's packet beyond that
   * is held, and a PINGREQ asks the address to prove itself. ADVERTISE ('own')
   * goes where the operator configured it.
   */
  private sendTo(route: Route | undefined, packet: Packet, kind: 'reply' | 'session' | 'own' = 'reply'): void {
    const transport = route?.via ?? this.transport;
    if (!route || !transport || (transport !== this.transport && transport !== this.dtls)) return;
    let bytes: Buffer;
    try {
      bytes = encode(forRoute(route, packet));
    } catch (error) {
      // e.g. a message too large for MQTT-SN: dropped silently as v1.2 §6.5 says, but logged.
      this.log('debug', `cannot encode ${packet.type} for ${route.address}:${route.port}: ${(error as Error).message}`);
      return;
    }
    // A DTLS peer proved its address in the handshake.
    if (kind !== 'own' && transport !== this.dtls) {
      const to = `${route.address}|${route.port}`;
      const verdict = this.proof.send(to, bytes, kind === 'session');
      if (verdict !== 'send') {
        if (verdict === 'dropped') this.stats.unproven++;
        const now = this.timers.now();
        if (kind === 'session' && this.proof.wantsProbe(to, now)) {
          this.proof.probeSent(to, now);
          this.stats.sent++;
          transport.send(encode(forRoute(route, { type: 'PINGREQ' })), endpointOf(route));
        }
        return;
      }
      const awaited = awaitedId(packet);
      if (awaited !== undefined) this.proof.expect(to, awaited);
    }
    this.stats.sent++;
    transport.send(bytes, endpointOf(route));
  }

  /** `/metrics` and `/health` over HTTP, and the figures published to the broker, when configured. */
  private async startOperatorViews(): Promise<void> {
    const { metrics, statsTopics } = this.options;
    if (metrics) {
      this.metricsServer = await startMetricsServer(this, metrics.port, metrics.host);
      this.log('info', `metrics on ${this.metricsServer.url}/metrics, health on ${this.metricsServer.url}/health`);
    }
    if (statsTopics) {
      this.stopStatsTopics = startStatsTopics(this, (topic, payload) => this.publishStatus(topic, payload), statsTopics.prefix, statsTopics.interval);
    }
  }

  private startAdvertising(): void {
    const advertise = this.options.advertise;
    const transport = this.transport;
    if (!advertise || !transport || !this.options.discovery) return;
    const host = this.options.host;
    if (isMulticast(advertise.address) && host !== '0.0.0.0' && isIP(host) === 4 && isIP(advertise.address) === 4) {
      // Leave through the interface the gateway is bound to (the default route otherwise).
      transport.setMulticastInterface(host);
    }
    const send = (): void => {
      // Only while the broker is reachable (v1.2 §6.1): clients should not pick a gateway that cannot serve them.
      if (!this.shared?.connected) return;
      this.sendTo(
        { address: advertise.address, port: advertise.port },
        { type: 'ADVERTISE', gwId: this.options.gatewayId, duration: advertise.interval },
        'own',
      );
    };
    send();
    this.advertiseTimer = setInterval(send, advertise.interval * 1000);
  }
}
