/**
 * The managed client's options object, its defaults, and how it becomes the
 * engine's settings. Durations are milliseconds (keepAlive: seconds, as on
 * the wire), as in MQTT.js.
 */
import { defaultSettings, type ClientSettings } from './config';
import { checkPskKey, requireDtls } from './dtls-settings';
import { parsePredefinedTopics } from '../topic-ids';
import { formatEndpoint } from '../transport/endpoint';
import type { EngineOptions } from './engine';
import { checkClientId, checkInteger, checkPort, checkQos, invalid } from './validate';

export interface GatewayAddress {
  host: string;
  port: number;
}

export interface ManagedWill {
  topic: string;
  payload?: string | Uint8Array;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface ReconnectOptions {
  /** First delay after a lost session or a failed attempt (ms, default 1000); doubles per failure. */
  minDelay?: number;
  /** Ceiling of the delay (ms, default 30000). */
  maxDelay?: number;
  /** Fraction of each delay taken off at random (0..1, default 0.5), so clients do not return in step. */
  jitter?: number;
}

export interface HoldOptions {
  /** Calls held while not connected (default 1000); one more rejects with LIMIT_REACHED (715). */
  count?: number;
  /** Payload octets held while not connected (default 1 MiB). */
  bytes?: number;
  /** A held call still not sent after this long rejects with NOT_CONNECTED (701); 0 (default) waits. */
  timeout?: number;
}

export interface DiscoveryOptions {
  /** Where SEARCHGW goes (default 255.255.255.255). */
  address?: string;
  /** Default 1883. */
  port?: number;
  /** SEARCHGW radius (default 0). */
  radius?: number;
  /** Longest random wait before a SEARCHGW (ms, default 5000: the spec's storm avoidance). */
  searchDelay?: number;
}

export interface ManagedClientOptions extends EngineOptions {
  /** The gateway (a name or an address). */
  host?: string;
  port?: number;
  /** Further gateways, tried in order when the one before cannot be reached. */
  gateways?: GatewayAddress[];
  /** Find a gateway with SEARCHGW when none is configured. */
  discovery?: DiscoveryOptions;
  /** 1-23 octets; generated when empty and cleanSession is true. */
  clientId?: string;
  /** Default true. */
  cleanSession?: boolean;
  /** Seconds (default 60; 0: none). */
  keepAlive?: number;
  will?: ManagedWill;
  /** Pre-defined topic ids shared with the gateway: id -> topic name. */
  predefinedTopics?: Record<string, string> | Map<number, string>;
  /** Local interface and port to bind ('' and 0: any). */
  localHost?: string;
  localPort?: number;
  /** How long a CONNECT waits for CONNACK (ms, default 30000). */
  connectTimeout?: number;
  /** How long a call waits for its acknowledgement once sent (ms, default 30000; 0: the retries alone decide). */
  callTimeout?: number;
  /** T_retry (ms, default 10000) and N_retry (default 3): after the last retransmission the gateway counts as lost. */
  retry?: { interval?: number; count?: number };
  /** How long to wait for PINGRESP (ms, default 5000). */
  pingTimeout?: number;
  /** Wait after "rejected: congestion" (ms, default 60000). */
  congestionDelay?: number;
  /** QoS 1/2 publishes in flight at once (default 1, the spec's rule). */
  maxInFlight?: number;
  /** Largest datagram sent (default 65507). */
  maxPacketSize?: number;
  /** Reconnect with back-off after a lost gateway, a gateway DISCONNECT or a failed attempt; false turns it off. */
  reconnect?: boolean | ReconnectOptions;
  /** Bounds on the calls held while (re)connecting. */
  hold?: HoldOptions;
  /** 0 none, 1 info (default), 2 verbose, 3 debug: what reaches 'log' listeners. */
  logLevel?: number;
  /** DTLS 1.2 to the gateway (docs/security.md); needs the native addon (270 at once without it). */
  dtls?: ManagedDtlsOptions;
}

export interface ManagedDtlsOptions {
  /** PSK identity and key (hex, as OpenSSL's -psk). */
  pskIdentity?: string;
  pskKey?: string;
  /** PEM text, or files: the CA the gateway's certificate must chain to, the client's own certificate and key. */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The name the gateway's certificate must carry (default: host). */
  servername?: string;
  /** Verify the gateway's certificate (default true). */
  verifyPeer?: boolean;
  ciphers?: string;
  /** How long a handshake may take (ms, default 30000). */
  handshakeTimeout?: number;
}

export interface ResolvedOptions {
  settings: ClientSettings;
  gateway: GatewayAddress | undefined;
  discoveryRadius: number | undefined;
  clientId: string;
  cleanSession: boolean;
  keepAlive: number;
  will: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean } | undefined;
  localHost: string;
  localPort: number;
  callTimeout: number;
  reconnect: Required<ReconnectOptions> | undefined;
  hold: Required<HoldOptions>;
}

function ms(value: unknown, fallback: number, what: string, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw invalid(`${what} must be a number of milliseconds >= ${min}.`);
  return value;
}

function gatewayAddress(value: GatewayAddress, what: string): GatewayAddress {
  if (typeof value !== 'object' || value === null || typeof value.host !== 'string' || value.host === '') {
    throw invalid(`${what} needs a host.`);
  }
  return { host: value.host, port: checkPort(value.port, `${what} port`, false) };
}

function predefinedMap(value: ManagedClientOptions['predefinedTopics']): Map<number, string> {
  return parsePredefinedTopics(value, 'predefinedTopics');
}

/** Checks every option (706 on a bad one) and fills in the defaults. */
export function resolveOptions(options: ManagedClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('MqttSnClient takes an options object.');
  const gateway = options.host !== undefined ? gatewayAddress({ host: options.host, port: options.port as number }, 'The gateway') : undefined;
  const others = (options.gateways ?? []).map((g, i) => gatewayAddress(g, `gateways[${i}]`));
  const discovery = options.discovery;
  if (!gateway && others.length === 0 && !discovery) throw invalid('Give the gateway (host and port), gateways, or discovery.');
  const settings = defaultSettings();
  settings.connectionTimeout = ms(options.connectTimeout, 30000, 'connectTimeout', 1) / 1000;
  settings.retryInterval = ms(options.retry?.interval, 10000, 'retry.interval', 1) / 1000;
  settings.retryCount = options.retry?.count === undefined ? 3 : checkInteger(options.retry.count, 0, 100, 'retry.count');
  settings.pingTimeout = ms(options.pingTimeout, 5000, 'pingTimeout', 1) / 1000;
  settings.congestionDelay = ms(options.congestionDelay, 60000, 'congestionDelay') / 1000;
  settings.maxInFlight = options.maxInFlight === undefined ? 1 : checkInteger(options.maxInFlight, 1, 65535, 'maxInFlight');
  settings.maxPacketSize = options.maxPacketSize === undefined ? 65507 : checkInteger(options.maxPacketSize, 16, 65507, 'maxPacketSize');
  settings.logLevel = options.logLevel === undefined ? 1 : checkInteger(options.logLevel, 0, 3, 'logLevel');
  settings.predefinedTopics = predefinedMap(options.predefinedTopics);
  settings.gateways = others.map((g) => formatEndpoint({ address: g.host, port: g.port })).join(', ');
  if (options.dtls) {
    const dtls = options.dtls;
    requireDtls();
    Object.assign(settings.dtls, {
      enabled: true,
      pskIdentity: dtls.pskIdentity ?? '',
      pskKey: checkPskKey(dtls.pskKey ?? ''),
      caFile: dtls.caFile ?? '',
      certFile: dtls.certFile ?? '',
      keyFile: dtls.keyFile ?? '',
      serverName: dtls.servername ?? '',
      verifyPeer: dtls.verifyPeer !== false,
      ciphers: dtls.ciphers ?? '',
      handshakeTimeout: ms(dtls.handshakeTimeout, 30000, 'dtls.handshakeTimeout', 100) / 1000,
      ...(dtls.ca !== undefined ? { ca: dtls.ca } : {}),
      ...(dtls.cert !== undefined ? { cert: dtls.cert } : {}),
      ...(dtls.key !== undefined ? { key: dtls.key } : {}),
    });
  }
  if (discovery) {
    settings.discoveryAddress = discovery.address ?? settings.discoveryAddress;
    settings.discoveryPort = discovery.port === undefined ? settings.discoveryPort : checkPort(discovery.port, 'discovery.port', false);
    settings.searchGwDelay = ms(discovery.searchDelay, 5000, 'discovery.searchDelay') / 1000;
  }
  const cleanSession = options.cleanSession ?? true;
  if (typeof cleanSession !== 'boolean') throw invalid('cleanSession must be true or false.');
  const clientId = checkClientId(options.clientId ?? '');
  if (clientId === '' && !cleanSession) throw invalid('clientId is required when cleanSession is false.');
  const will = options.will;
  const reconnect = options.reconnect ?? true;
  const policy = typeof reconnect === 'object' ? reconnect : {};
  const jitter = policy.jitter ?? 0.5;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) throw invalid('reconnect.jitter must be from 0 to 1.');
  return {
    settings,
    gateway,
    discoveryRadius: discovery ? checkInteger(discovery.radius ?? 0, 0, 255, 'discovery.radius') : undefined,
    clientId,
    cleanSession,
    keepAlive: checkInteger(options.keepAlive ?? 60, 0, 65535, 'keepAlive'),
    will: will
      ? {
          topic: will.topic,
          payload: Buffer.from(will.payload ?? ''),
          qos: checkQos(will.qos ?? 0, false) as 0 | 1 | 2,
          retain: will.retain === true,
        }
      : undefined,
    localHost: options.localHost ?? '',
    localPort: checkPort(options.localPort ?? 0, 'localPort', true),
    callTimeout: ms(options.callTimeout, 30000, 'callTimeout'),
    reconnect:
      reconnect === false
        ? undefined
        : {
            minDelay: ms(policy.minDelay, 1000, 'reconnect.minDelay', 1),
            maxDelay: ms(policy.maxDelay, 30000, 'reconnect.maxDelay', 1),
            jitter,
          },
    hold: {
      count: options.hold?.count === undefined ? 1000 : checkInteger(options.hold.count, 0, 1e9, 'hold.count'),
      bytes: options.hold?.bytes === undefined ? 1024 * 1024 : checkInteger(options.hold.bytes, 0, 2 ** 40, 'hold.bytes'),
      timeout: ms(options.hold?.timeout, 0, 'hold.timeout'),
    },
  };
}
