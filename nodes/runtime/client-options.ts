/**
 * The config node's settings and the MqttSnClient options they become.
 */
import { MqttSnClient, MqttSnError, type DatagramTransport, type ManagedClientOptions } from '../../lib';
import type { PredefinedTopics } from './topics';

export interface WillSettings {
  topic: string;
  message: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** A birth or close message, as the core MQTT config node has them. */
export interface AnnouncementSettings {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface ConnectionSettings {
  /** Connect when the first node starts; false: only on a 'connect' action. */
  autoConnect: boolean;
  /** Published on each connection. */
  birth: AnnouncementSettings | undefined;
  /** Published before a requested disconnect. */
  close: AnnouncementSettings | undefined;
  /** The gateway; with `discover`, where SEARCHGW goes instead (a broadcast, multicast or unicast address). */
  host: string;
  port: number;
  /** Find the gateway with SEARCHGW (this radius) before connecting. */
  discover: { radius: number } | undefined;
  clientId: string;
  cleanSession: boolean;
  /** Seconds. */
  keepAlive: number;
  will: WillSettings | undefined;
  maxInFlight: number;
  /** T_retry, seconds. */
  retryInterval: number;
  /** N_retry. */
  retryCount: number;
  /** Seconds a call waits for its acknowledgement, and a publish for the connection. */
  timeout: number;
  /** 0 none, 1 info, 2 verbose, 3 debug. */
  logLevel: number;
  predefined: PredefinedTopics;
  /** First reconnect delay; doubles up to reconnectMaxMs. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** DTLS to the gateway (the Security tab); the pre-shared key comes from the node's credentials. */
  dtls?: NonNullable<ManagedClientOptions['dtls']>;
  /** Why the DTLS settings cannot be used (a missing TLS configuration): every connect fails with it. */
  dtlsFailure?: MqttSnError;
}

export function clientOptions(settings: ConnectionSettings): ManagedClientOptions {
  const where = settings.discover
    ? // The spec's random wait before SEARCHGW avoids storms of searches; one client can start at once.
      { discovery: { address: settings.host, port: settings.port, radius: settings.discover.radius, searchDelay: 200 } }
    : { host: settings.host, port: settings.port };
  return {
    ...where,
    clientId: settings.clientId,
    cleanSession: settings.cleanSession,
    keepAlive: settings.keepAlive,
    will: settings.will && { topic: settings.will.topic, payload: settings.will.message, qos: settings.will.qos, retain: settings.will.retain },
    maxInFlight: settings.maxInFlight,
    retry: { interval: settings.retryInterval * 1000, count: settings.retryCount },
    connectTimeout: settings.timeout * 1000,
    callTimeout: settings.timeout * 1000,
    logLevel: settings.logLevel,
    predefinedTopics: settings.predefined.toObject(),
    reconnect: { minDelay: settings.reconnectMinMs, maxDelay: settings.reconnectMaxMs },
    // As the core MQTT nodes hold messages while reconnecting, for at most the call timeout.
    hold: { timeout: settings.timeout * 1000 },
    // A handshake gets as long as any other exchange with the gateway: a wrong key shows as soon as a lost gateway does.
    ...(settings.dtls ? { dtls: { handshakeTimeout: settings.timeout * 1000, ...settings.dtls } } : {}),
  };
}

/**
 * The connection's client. When the DTLS settings cannot work (no native
 * addon, a bad key), the client still exists for the nodes that use it, but
 * every connect fails with that coded error: never a fallback to plain UDP.
 */
export function connectionClient(settings: ConnectionSettings, report: (error: MqttSnError) => void): MqttSnClient {
  let failure = settings.dtlsFailure;
  if (!failure) {
    try {
      return new MqttSnClient(clientOptions(settings));
    } catch (error) {
      if (!(error instanceof MqttSnError) || !settings.dtls) throw error;
      failure = error;
    }
  }
  report(failure);
  const refusing = (): DatagramTransport => {
    throw failure;
  };
  return new MqttSnClient({ ...clientOptions({ ...settings, dtls: undefined }), transport: refusing });
}
