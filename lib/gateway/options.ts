/**
 * Gateway options as users write them, and the complete, checked form the
 * gateway runs with (every default filled in).
 */
import { ErrorCode, MqttSnError } from '../errors';
import { MAX_TOPIC_ID, parsePredefinedTopics } from '../topic-ids';
import type { TransportFactory } from '../transport/types';
import { measuredDefaultTransport } from '../transport/default';
import { resolveDtls, type GatewayDtlsOptions, type ResolvedDtls } from './dtls-listener';
import { fileSessionStore, type SessionStore } from './session-store';
import { TAKEOVER_POLICIES, type TakeoverPolicy } from './takeover';
import { DEFAULT_TOPIC_RULES, type TopicRules } from './topic-policy';

export type GatewayMode = 'transparent' | 'aggregating';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Topic id (decimal string) → topic name. */
export type PredefinedTopics = Record<string, string>;

export interface GatewayOptions {
  /** UDP address to listen on (IPv4 or IPv6). Default '0.0.0.0'. */
  host?: string;
  /** UDP port. Default 1884; 0 picks a free port. */
  port?: number;
  /** MQTT broker URL, e.g. mqtt://127.0.0.1:1883. Absent: an embedded broker runs in-process. */
  broker?: string;
  /** TCP port of the embedded broker on 127.0.0.1. Default 0 (a free port). */
  embeddedBrokerPort?: number;
  /** One MQTT connection per client (default) or one shared connection. */
  mode?: GatewayMode;
  /** GwId in ADVERTISE and GWINFO, 0-255. Default 1. */
  gatewayId?: number;
  /** Pre-defined topic ids for every client. */
  predefined?: PredefinedTopics;
  /** Pre-defined topic ids per client id (added to, and overriding, `predefined`). */
  clientPredefined?: Record<string, PredefinedTopics>;
  /** ADVERTISE every `interval` seconds to address:port. Off when absent. */
  advertise?: { interval: number; address: string; port: number };
  /**
   * Answers SEARCHGW and sends ADVERTISE. Default true; the workers of
   * `--workers N` other than the first leave discovery to it.
   */
  discovery?: boolean;
  /**
   * Factor applied to keep-alive and sleep durations before a silent client
   * is declared lost. Default: the spec's 1.5 for durations up to 60 s, 1.1 above.
   */
  keepAliveTolerance?: number;
  /** Retransmission towards clients: wait `interval` ms, resend `count` times. Default 10000 ms × 3. */
  retry?: { interval?: number; count?: number };
  limits?: {
    /** Connected (and sleeping) clients. Default 10000. */
    clients?: number;
    /** Registered topic ids, and subscriptions, per client. Default 1000. */
    topicsPerClient?: number;
    /** Messages queued per client (sleeping or awaiting acknowledgement). Default 100. */
    bufferedMessages?: number;
    /** QoS 1/2 publishes in flight per client, in each direction. Default 10. */
    maxInFlight?: number;
    /** Sessions one source IP address holds (every port, every node behind a forwarder). Default 1000. */
    sessionsPerSource?: number;
    /** New sessions a second from one source IP address. Default 50. */
    newSessionsPerSource?: number;
    /** New sessions a second in all. Default 1000. */
    newSessionsTotal?: number;
    /** Seconds a session with keep-alive 0 (or asleep with duration 0) may stay silent. Default 3600. */
    maxIdle?: number;
    /** SEARCHGW answers a second to one source IP address. Default 1. */
    searchPerSource?: number;
    /** Octets one session may hold: queued messages, registered topic names, subscription filters. Default 1 MiB. */
    sessionBytes?: number;
    /** Octets all sessions together may hold. Default 256 MiB. */
    totalBytes?: number;
  };
  /** Who may take over a live session with its client id. Default 'same-address'. */
  takeover?: TakeoverPolicy;
  /**
   * Where a sleeping client's buffered messages may go when its wake-up PINGREQ
   * comes from an address other than the one it fell asleep at: 'none' (default;
   * it has to CONNECT again), 'same-host' (the same IP address, another port) or 'any'.
   */
  wakeMove?: 'none' | 'same-host' | 'any';
  /** Will updates of a client reach the broker at most once in this many ms (transparent mode reconnects). Default 1000. */
  willUpdateInterval?: number;
  /** The broker's topic rules, checked before a client's topic reaches it. */
  topics?: {
    /** Whether clients may use topics starting with '$'. Default false. */
    allowDollar?: boolean;
    /** Most levels a topic may have. Default 100. */
    maxLevels?: number;
    /** Most UTF-8 octets a topic may have. Default 1024. */
    maxLength?: number;
  };
  /** Lowest level emitted as 'log' events. Default 'info'. */
  logLevel?: LogLevel;
  /** Serves Prometheus `/metrics` and `/health` over HTTP. Off when absent; host defaults to 127.0.0.1. */
  metrics?: { port: number; host?: string };
  /**
   * Publishes the gateway's figures to the broker every `interval` seconds,
   * one topic per figure under `prefix` (default `mqtt-sn-gateway/<gatewayId>`).
   * A `$SYS/...` prefix needs the embedded broker: other brokers refuse clients' `$` topics.
   */
  statsTopics?: { interval: number; prefix?: string };
  /**
   * Makes the datagram transport the gateway listens with (bound to host and port).
   * Default: UDP on the native batched engine where the addon has it and
   * MQTTSN_NATIVE is not 0, node:dgram otherwise (lib/transport/default.ts).
   * A MemoryNetwork's `factory` runs the gateway in memory.
   */
  transport?: TransportFactory;
  /** A DTLS 1.2 listener beside (or, with `only`, instead of) plain UDP; see docs/security.md. */
  dtls?: GatewayDtlsOptions;
  /**
   * Aggregating mode: where the sessions of clients with clean session off are kept, so that
   * they outlive a restart (a file path, or a SessionStore). Off when absent. Transparent mode
   * needs none: the broker keeps them.
   */
  sessionStore?: string | SessionStore;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  broker: string | undefined;
  embeddedBrokerPort: number;
  mode: GatewayMode;
  gatewayId: number;
  predefined: PredefinedTopics;
  clientPredefined: Record<string, PredefinedTopics>;
  advertise: { interval: number; address: string; port: number } | undefined;
  discovery: boolean;
  keepAliveTolerance: number | undefined;
  retry: { interval: number; count: number };
  limits: {
    clients: number;
    topicsPerClient: number;
    bufferedMessages: number;
    maxInFlight: number;
    sessionsPerSource: number;
    newSessionsPerSource: number;
    newSessionsTotal: number;
    maxIdle: number;
    searchPerSource: number;
    sessionBytes: number;
    totalBytes: number;
  };
  takeover: TakeoverPolicy;
  wakeMove: 'none' | 'same-host' | 'any';
  willUpdateInterval: number;
  topics: TopicRules;
  logLevel: LogLevel;
  metrics: { port: number; host: string } | undefined;
  statsTopics: { interval: number; prefix: string } | undefined;
  transport: TransportFactory;
  dtls: ResolvedDtls | undefined;
  sessionStore: SessionStore | undefined;
}

export const DEFAULT_PORT = 1884;
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

function invalid(what: string): MqttSnError {
  return new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Invalid gateway option: ${what}.`);
}

function integer(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw invalid(`${name} must be a positive number`);
  return value;
}

function topicMap(value: unknown, name: string): PredefinedTopics {
  const map = parsePredefinedTopics(value, `Invalid gateway option: ${name}`);
  return Object.fromEntries([...map].map(([id, topic]) => [String(id), topic]));
}

/** Checks user options and fills in defaults; throws MqttSnError (INVALID_ARGUMENT). */
export function resolveOptions(options: GatewayOptions = {}): ResolvedOptions {
  const mode = options.mode ?? 'transparent';
  if (mode !== 'transparent' && mode !== 'aggregating') throw invalid('mode must be transparent or aggregating');
  const logLevel = options.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw invalid('logLevel must be error, warn, info or debug');
  if (options.broker !== undefined && (typeof options.broker !== 'string' || !/^(mqtts?|wss?|tcp|ssl):\/\//.test(options.broker))) {
    throw invalid('broker must be an mqtt://, mqtts://, ws:// or wss:// URL');
  }
  const clientPredefined: Record<string, PredefinedTopics> = {};
  if (options.clientPredefined !== undefined) {
    if (options.clientPredefined === null || typeof options.clientPredefined !== 'object') throw invalid('clientPredefined must be an object');
    for (const [clientId, map] of Object.entries(options.clientPredefined)) {
      clientPredefined[clientId] = topicMap(map, `clientPredefined.${clientId}`);
    }
  }
  if (options.discovery !== undefined && typeof options.discovery !== 'boolean') throw invalid('discovery must be true or false');
  let advertise: ResolvedOptions['advertise'];
  if (options.advertise !== undefined) {
    const a = options.advertise;
    if (typeof a.address !== 'string' || a.address === '') throw invalid('advertise.address must be an address');
    advertise = {
      interval: integer(a.interval, 'advertise.interval', 1, 0xffff, 900),
      address: a.address,
      port: integer(a.port, 'advertise.port', 1, 65535, DEFAULT_PORT),
    };
  }
  const limits = options.limits ?? {};
  const gatewayId = integer(options.gatewayId, 'gatewayId', 0, 255, 1);
  let metrics: ResolvedOptions['metrics'];
  if (options.metrics !== undefined) {
    const host = options.metrics.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '') throw invalid('metrics.host must be an address');
    metrics = { port: integer(options.metrics.port, 'metrics.port', 0, 65535, 0), host };
  }
  let statsTopics: ResolvedOptions['statsTopics'];
  if (options.statsTopics !== undefined) {
    const prefix = options.statsTopics.prefix ?? `mqtt-sn-gateway/${gatewayId}`;
    if (typeof prefix !== 'string' || prefix === '' || /[+#]/.test(prefix) || prefix.includes('\u0000') || prefix.endsWith('/')) {
      throw invalid('statsTopics.prefix must be a topic name without wildcards or a trailing /');
    }
    if (prefix.startsWith('$') && options.broker !== undefined) {
      throw invalid('statsTopics.prefix may start with $ only with the embedded broker (brokers refuse $ topics from clients)');
    }
    statsTopics = { interval: integer(options.statsTopics.interval, 'statsTopics.interval', 1, 86400, 60), prefix };
  }
  const topics = options.topics ?? {};
  const takeover = options.takeover ?? 'same-address';
  const wakeMove = options.wakeMove ?? 'none';
  if (!['none', 'same-host', 'any'].includes(wakeMove)) throw invalid('wakeMove must be none, same-host or any');
  if (!TAKEOVER_POLICIES.includes(takeover)) throw invalid(`takeover must be ${TAKEOVER_POLICIES.join(', ')}`);
  if (options.transport !== undefined && typeof options.transport !== 'function') throw invalid('transport must be a function that makes a transport');
  if (topics.allowDollar !== undefined && typeof topics.allowDollar !== 'boolean') throw invalid('topics.allowDollar must be true or false');
  return {
    host: options.host ?? '0.0.0.0',
    port: integer(options.port, 'port', 0, 65535, DEFAULT_PORT),
    broker: options.broker,
    embeddedBrokerPort: integer(options.embeddedBrokerPort, 'embeddedBrokerPort', 0, 65535, 0),
    mode,
    gatewayId,
    predefined: topicMap(options.predefined, 'predefined'),
    clientPredefined,
    advertise,
    discovery: options.discovery ?? true,
    keepAliveTolerance: options.keepAliveTolerance === undefined ? undefined : positive(options.keepAliveTolerance, 'keepAliveTolerance', 1.5),
    retry: {
      interval: positive(options.retry?.interval, 'retry.interval', 10000),
      count: integer(options.retry?.count, 'retry.count', 0, 100, 3),
    },
    limits: {
      clients: integer(limits.clients, 'limits.clients', 1, 1e7, 10000),
      topicsPerClient: integer(limits.topicsPerClient, 'limits.topicsPerClient', 1, MAX_TOPIC_ID, 1000),
      bufferedMessages: integer(limits.bufferedMessages, 'limits.bufferedMessages', 1, 1e7, 100),
      maxInFlight: integer(limits.maxInFlight, 'limits.maxInFlight', 1, 0xffff, 10),
      sessionsPerSource: integer(limits.sessionsPerSource, 'limits.sessionsPerSource', 1, 1e7, 1000),
      newSessionsPerSource: positive(limits.newSessionsPerSource, 'limits.newSessionsPerSource', 50),
      newSessionsTotal: positive(limits.newSessionsTotal, 'limits.newSessionsTotal', 1000),
      maxIdle: integer(limits.maxIdle, 'limits.maxIdle', 1, 0x7fffffff / 1000, 3600),
      searchPerSource: positive(limits.searchPerSource, 'limits.searchPerSource', 1),
      sessionBytes: integer(limits.sessionBytes, 'limits.sessionBytes', 1024, Number.MAX_SAFE_INTEGER, 1 << 20),
      totalBytes: integer(limits.totalBytes, 'limits.totalBytes', 1024, Number.MAX_SAFE_INTEGER, 256 << 20),
    },
    takeover,
    wakeMove,
    willUpdateInterval: integer(options.willUpdateInterval, 'willUpdateInterval', 0, 3600000, 1000),
    topics: {
      allowDollar: topics.allowDollar ?? DEFAULT_TOPIC_RULES.allowDollar,
      maxLevels: integer(topics.maxLevels, 'topics.maxLevels', 1, 0xffff, DEFAULT_TOPIC_RULES.maxLevels),
      maxBytes: integer(topics.maxLength, 'topics.maxLength', 1, 0xffff, DEFAULT_TOPIC_RULES.maxBytes),
    },
    logLevel,
    metrics,
    statsTopics,
    transport: options.transport ?? measuredDefaultTransport(),
    dtls: resolveDtls(options.dtls),
    sessionStore: resolveSessionStore(options.sessionStore, mode),
  };
}

function resolveSessionStore(store: GatewayOptions['sessionStore'], mode: GatewayMode): SessionStore | undefined {
  if (store === undefined) return undefined;
  if (mode !== 'aggregating') throw invalid('sessionStore is for aggregating mode (in transparent mode the broker keeps the sessions)');
  if (typeof store === 'string' && store !== '') return fileSessionStore(store);
  if (typeof store === 'object' && store !== null && typeof store.load === 'function' && typeof store.save === 'function') return store;
  throw invalid('sessionStore must be a file path or an object with load() and save()');
}

