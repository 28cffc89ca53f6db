/**
 * The client's configuration settings and the `config("Name=Value")` /
 * `config("Name")` string interface to them. Durations are in seconds and
 * may have fractions ("0.2"); booleans accept True/False/1/0/Yes/No.
 */
import { ErrorCode, MqttSnError } from '../errors';
import { checkPskKey, defaultDtlsSettings, requireDtls, type ClientDtlsSettings } from './dtls-settings';
import { parsePredefinedTopics } from '../topic-ids';
import { invalid } from './validate';

export interface ClientSettings {
  /** Seconds to wait for CONNACK (the will exchange included). */
  connectionTimeout: number;
  /** Sets DUP on the next publishes (retransmissions set it anyway). */
  duplicate: boolean;
  /** 0 none, 1 info, 2 verbose, 3 debug. */
  logLevel: number;
  /** Seconds to wait for each PINGRESP. */
  pingTimeout: number;
  /** Sets Retain on publishes. */
  retain: boolean;
  /** Topic id of the last SUBACK for a topic name (0 for a wildcard filter). */
  subscribedTopicId: number;
  /** Sets DUP on the next SUBSCRIBE. */
  subscribeDup: boolean;
  willQos: 0 | 1 | 2;
  willRetain: boolean;
  /** T_retry: seconds before an unacknowledged packet is sent again. */
  retryInterval: number;
  /** N_retry: retransmissions before the gateway counts as lost. */
  retryCount: number;
  /** T_WAIT: seconds to wait before retrying after "rejected: congestion". */
  congestionDelay: number;
  /** QoS 1/2 publishes in flight at once (1 is the spec's rule). */
  maxInFlight: number;
  /** Largest datagram the client sends or accepts. */
  maxPacketSize: number;
  /** Where SEARCHGW goes (broadcast or multicast). */
  discoveryAddress: string;
  discoveryPort: number;
  /** Bind discoveryPort to hear ADVERTISE, GWINFO and other clients' SEARCHGW. */
  discoveryListen: boolean;
  /** T_SEARCHGW: the random delay before a SEARCHGW is at most this long. */
  searchGwDelay: number;
  /** T_GWINFO: the random delay before answering another client's SEARCHGW. */
  gwInfoDelay: number;
  /** N_ADV: missed advertisements after which a gateway is dropped. */
  advertiseMissed: number;
  /** Replace a lost gateway by the next known one. */
  failover: boolean;
  /** Known gateways, "host:port" separated by commas or spaces (ids are given in order from 1). */
  gateways: string;
  /** Pre-defined topic ids shared with the gateway: id -> topic name. */
  predefinedTopics: Map<number, string>;
  /** DTLS 1.2 to the gateway (docs/security.md). */
  dtls: ClientDtlsSettings;
}

export function defaultSettings(): ClientSettings {
  return {
    connectionTimeout: 60,
    duplicate: false,
    logLevel: 1,
    pingTimeout: 5,
    retain: false,
    subscribedTopicId: 0,
    subscribeDup: false,
    willQos: 0,
    willRetain: false,
    retryInterval: 10,
    retryCount: 3,
    congestionDelay: 60,
    maxInFlight: 1,
    maxPacketSize: 65507,
    discoveryAddress: '255.255.255.255',
    discoveryPort: 1883,
    discoveryListen: false,
    searchGwDelay: 5,
    gwInfoDelay: 5,
    advertiseMissed: 3,
    failover: false,
    gateways: '',
    predefinedTopics: new Map(),
    dtls: defaultDtlsSettings(),
  };
}

function parseBool(text: string, name: string): boolean {
  const value = text.trim().toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  throw invalid(`${name} takes True/False, 1/0 or Yes/No, not ${JSON.stringify(text)}.`);
}

function parseNumber(text: string, name: string, min: number, max: number, integer: boolean): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalid(`${name} takes ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not ${JSON.stringify(text)}.`);
  }
  return value;
}

function formatPredefined(map: Map<number, string>): string {
  return [...map].map(([id, name]) => `${id}=${name}`).join(';');
}

interface SettingDef {
  get(s: ClientSettings): string;
  set(s: ClientSettings, text: string, name: string): void;
}

function num(key: keyof ClientSettings, min: number, max: number, integer: boolean): SettingDef {
  return {
    get: (s) => String(s[key]),
    set: (s, text, name) => {
      (s as unknown as Record<string, number>)[key] = parseNumber(text, name, min, max, integer);
    },
  };
}

function bool(key: keyof ClientSettings): SettingDef {
  return {
    get: (s) => (s[key] ? 'True' : 'False'),
    set: (s, text, name) => {
      (s as unknown as Record<string, boolean>)[key] = parseBool(text, name);
    },
  };
}

function text(key: 'discoveryAddress' | 'gateways'): SettingDef {
  return {
    get: (s) => s[key],
    set: (s, value) => {
      if (key === 'gateways') parseGatewayList(value);
      s[key] = value.trim();
    },
  };
}

type DtlsText = 'pskIdentity' | 'pskKey' | 'caFile' | 'certFile' | 'keyFile' | 'serverName' | 'ciphers';

function dtlsText(key: DtlsText, check: (value: string) => string = (value) => value.trim()): SettingDef {
  return {
    get: (s) => s.dtls[key],
    set: (s, value) => {
      s.dtls[key] = check(value);
    },
  };
}

/** Setting names as config() spells them; lookup is case-insensitive. */
const SETTINGS: Record<string, SettingDef> = {
  ConnectionTimeout: num('connectionTimeout', 0, 86400, false),
  Duplicate: bool('duplicate'),
  LogLevel: num('logLevel', 0, 3, true),
  PingTimeout: num('pingTimeout', 0.001, 3600, false),
  Retain: bool('retain'),
  SubscribedTopicId: num('subscribedTopicId', 0, 0xffff, true),
  SubscribeDUP: bool('subscribeDup'),
  WillQOS: num('willQos', 0, 2, true),
  WillRetain: bool('willRetain'),
  RetryInterval: num('retryInterval', 0.001, 3600, false),
  RetryCount: num('retryCount', 0, 100, true),
  CongestionDelay: num('congestionDelay', 0, 86400, false),
  MaxInFlight: num('maxInFlight', 1, 65535, true),
  MaxPacketSize: num('maxPacketSize', 16, 65507, true),
  DiscoveryAddress: text('discoveryAddress'),
  DiscoveryPort: num('discoveryPort', 1, 65535, true),
  DiscoveryListen: bool('discoveryListen'),
  SearchGwDelay: num('searchGwDelay', 0, 3600, false),
  GwInfoDelay: num('gwInfoDelay', 0, 3600, false),
  AdvertiseMissed: num('advertiseMissed', 1, 100, true),
  Failover: bool('failover'),
  Gateways: text('gateways'),
  DTLS: {
    get: (s) => (s.dtls.enabled ? 'True' : 'False'),
    set: (s, value, name) => {
      const enabled = parseBool(value, name);
      if (enabled) requireDtls();
      s.dtls.enabled = enabled;
    },
  },
  DTLSPSKIdentity: dtlsText('pskIdentity'),
  DTLSPSKKey: dtlsText('pskKey', checkPskKey),
  DTLSCAFile: dtlsText('caFile'),
  DTLSCertFile: dtlsText('certFile'),
  DTLSKeyFile: dtlsText('keyFile'),
  DTLSServerName: dtlsText('serverName'),
  DTLSCiphers: dtlsText('ciphers'),
  DTLSVerifyPeer: {
    get: (s) => (s.dtls.verifyPeer ? 'True' : 'False'),
    set: (s, value, name) => {
      s.dtls.verifyPeer = parseBool(value, name);
    },
  },
  DTLSHandshakeTimeout: {
    get: (s) => String(s.dtls.handshakeTimeout),
    set: (s, value, name) => {
      s.dtls.handshakeTimeout = parseNumber(value, name, 0.1, 3600, false);
    },
  },
  PredefinedTopics: {
    get: (s) => formatPredefined(s.predefinedTopics),
    set: (s, value) => {
      s.predefinedTopics = parsePredefinedTopics(value, 'PredefinedTopics'); // "1=a/b;2=c/d" or JSON {"1": "a/b"}
    },
  },
};

const BY_LOWER_NAME = new Map(Object.entries(SETTINGS).map(([name, def]) => [name.toLowerCase(), { name, def }]));

/** Every setting name config() knows. */
export const SETTING_NAMES: readonly string[] = Object.keys(SETTINGS);

/**
 * Applies "Name=Value" and returns '' or reads "Name" and returns its value.
 * Throws MqttSnError 706 for an unknown name or a bad value; `settings` is
 * unchanged then.
 */
export function applyConfig(settings: ClientSettings, configuration: string): string {
  if (typeof configuration !== 'string') throw invalid('config() takes a string "Name" or "Name=Value".');
  const eq = configuration.indexOf('=');
  const rawName = (eq < 0 ? configuration : configuration.slice(0, eq)).trim();
  const entry = BY_LOWER_NAME.get(rawName.toLowerCase());
  if (!entry) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Unknown configuration setting "${rawName}".`);
  }
  if (eq < 0) return entry.def.get(settings);
  entry.def.set(settings, configuration.slice(eq + 1), entry.name);
  return '';
}

/** "host:port", "[v6]:port" list -> endpoints; throws 706 on a malformed entry. */
export function parseGatewayList(list: string): { host: string; port: number }[] {
  return list
    .split(/[\s,;]+/)
    .filter((item) => item !== '')
    .map((item) => {
      const match = /^\[([^\]]+)\]:(\d+)$/.exec(item) ?? /^([^:]+):(\d+)$/.exec(item);
      const port = match ? Number(match[2]) : NaN;
      if (!match || port < 1 || port > 65535) throw invalid(`Gateways: "${item}" is not host:port.`);
      return { host: match[1], port };
    });
}
