/**
 * `mqtt-sn-broker`: the config node for one MQTT-SN gateway. It owns one
 * client (through GatewayConnection) shared by every node that selects it.
 */
import { randomBytes } from 'node:crypto';
import { MqttSnError } from '../../lib';
import type { AnnouncementSettings, ConnectionSettings } from './client-options';
import { GatewayConnection, type ConnectionUser } from './connection';
import type { Node, NodeAPI, NodeDef } from './red';
import { tlsMaterial, type TlsMaterial } from './tls-config';
import { PredefinedTopics } from './topics';

export interface BrokerDef extends NodeDef {
  host: string;
  port: number | string;
  discover: boolean | string;
  radius: number | string;
  clientid: string;
  cleansession: boolean;
  keepalive: number | string;
  autoConnect: boolean | string;
  birthTopic: string;
  birthPayload: string;
  birthQos: number | string;
  birthRetain: boolean | string;
  closeTopic: string;
  closePayload: string;
  closeQos: number | string;
  closeRetain: boolean | string;
  willTopic: string;
  willPayload: string;
  willQos: number | string;
  willRetain: boolean | string;
  predefined: string;
  maxInFlight: number | string;
  retryInterval: number | string;
  retryCount: number | string;
  timeout: number | string;
  logLevel: number | string;
  /** Security tab: DTLS with a pre-shared key (in the credentials) and/or certificate files. */
  dtls?: boolean | string;
  dtlsCaFile?: string;
  dtlsCertFile?: string;
  dtlsKeyFile?: string;
  dtlsServername?: string;
  dtlsVerify?: boolean | string;
  /** Take the certificates, the server name and "verify" from the tls-config node `tls`. */
  usetls?: boolean | string;
  tls?: string;
}

/** Kept in Node-RED's credentials store, never in the flow file. */
export interface BrokerCredentials {
  pskIdentity?: string;
  pskKey?: string;
}

export interface BrokerNode extends Node {
  connection: GatewayConnection;
  credentials?: BrokerCredentials;
}

/** A setting's text trimmed; undefined while blank. */
export function text(value: string | undefined): string | undefined {
  return (value ?? '').trim() || undefined;
}

/** Whether the Security tab takes its certificates from a tls-config node. */
export function usesTlsConfig(def: BrokerDef): boolean {
  return parseFlag(def.dtls) === true && parseFlag(def.usetls) === true && text(def.tls) !== undefined;
}

/**
 * The Security tab's settings as the client's dtls option; undefined when
 * DTLS is off. With a TLS configuration (`tls`), its certificates, server
 * name and "verify server certificate" replace the tab's files and checkbox.
 */
export function dtlsSettings(def: BrokerDef, credentials: BrokerCredentials | undefined, tls?: TlsMaterial): ConnectionSettings['dtls'] {
  if (parseFlag(def.dtls) !== true) return undefined;
  const pskIdentity = text(credentials?.pskIdentity);
  const pskKey = text(credentials?.pskKey);
  const servername = tls?.servername ?? text(def.dtlsServername);
  const certificates = tls
    ? { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) }
    : {
        ...(text(def.dtlsCaFile) !== undefined ? { caFile: text(def.dtlsCaFile) } : {}),
        ...(text(def.dtlsCertFile) !== undefined ? { certFile: text(def.dtlsCertFile) } : {}),
        ...(text(def.dtlsKeyFile) !== undefined ? { keyFile: text(def.dtlsKeyFile) } : {}),
      };
  return {
    ...(pskIdentity !== undefined ? { pskIdentity } : {}),
    ...(pskKey !== undefined ? { pskKey } : {}),
    ...certificates,
    ...(servername !== undefined ? { servername } : {}),
    verifyPeer: tls ? tls.verify : (parseFlag(def.dtlsVerify) ?? true),
  };
}

/** Users of the config node: they hold it by id, as the core MQTT nodes do. */
export interface UserNode extends Node, ConnectionUser {}

/** The longest a close may take: Node-RED gives up on a node after 15 s. */
export const CLOSE_LIMIT_MS = 4000;

function integer(value: unknown, fallback: number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(String(value ?? '').trim() || NaN);
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}

/** true / false, or their strings as the editor stores them; undefined for anything else. */
export function parseFlag(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** A birth or close message from the editor's fields; undefined while its topic is blank. */
function announcement(topic: unknown, payload: unknown, qos: unknown, retain: unknown): AnnouncementSettings | undefined {
  const name = typeof topic === 'string' ? topic.trim() : '';
  if (name === '') return undefined;
  return { topic: name, payload: typeof payload === 'string' ? payload : '', qos: integer(qos, 0, 0, 2) as 0 | 1 | 2, retain: parseFlag(retain) ?? false };
}

/** Client ids are at most 23 bytes: 'nodered-' and 12 hex digits fit. */
export function generatedClientId(): string {
  return `nodered-${randomBytes(6).toString('hex')}`;
}

/** Resolves within `ms` whatever `work` does, so close() always calls done. */
export function bounded(work: Promise<unknown>, ms: number = CLOSE_LIMIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.then(() => undefined, () => undefined), limit]).finally(() => clearTimeout(timer));
}

export function registerBrokerNode(RED: NodeAPI): void {
  function MqttSnBrokerNode(this: BrokerNode, def: BrokerDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: BrokerNode, def: BrokerDef): void {
    let predefined: PredefinedTopics;
    try {
      predefined = PredefinedTopics.parse(def.predefined);
    } catch (err) {
      node.error(RED._('mqtt-sn.errors.invalid-predefined-config', { error: (err as Error).message }));
      predefined = new PredefinedTopics();
    }
    let cleanSession = parseFlag(def.cleansession) ?? true;
    let clientId = (def.clientid ?? '').trim();
    if (clientId === '') {
      // As the core node: a generated id cannot resume a session.
      if (!cleanSession) node.warn(RED._('mqtt-sn.errors.nonclean-missingclientid'));
      clientId = generatedClientId();
      cleanSession = true;
    }
    const willTopic = (def.willTopic ?? '').trim();
    // A TLS configuration that is missing or invalid makes every connect fail with its code: never a connection without it.
    let tls: TlsMaterial | undefined;
    let dtlsFailure: MqttSnError | undefined;
    if (usesTlsConfig(def)) {
      try {
        tls = tlsMaterial(RED, (def.tls as string).trim());
      } catch (error) {
        if (!(error instanceof MqttSnError)) throw error;
        dtlsFailure = error;
      }
    }
    node.connection = new GatewayConnection(
      {
        // Saved before the setting existed: connect automatically, as then.
        autoConnect: parseFlag(def.autoConnect) ?? true,
        birth: announcement(def.birthTopic, def.birthPayload, def.birthQos, def.birthRetain),
        close: announcement(def.closeTopic, def.closePayload, def.closeQos, def.closeRetain),
        host: (def.host ?? '').trim() || '127.0.0.1',
        port: integer(def.port, 1884, 1, 65535),
        discover: parseFlag(def.discover) ? { radius: integer(def.radius, 0, 0, 255) } : undefined,
        clientId,
        cleanSession,
        keepAlive: integer(def.keepalive, 60, 0, 65535),
        will: willTopic
          ? {
              topic: willTopic,
              message: def.willPayload ?? '',
              qos: integer(def.willQos, 0, 0, 2) as 0 | 1 | 2,
              retain: parseFlag(def.willRetain) ?? false,
            }
          : undefined,
        maxInFlight: integer(def.maxInFlight, 1, 1, 65535),
        retryInterval: integer(def.retryInterval, 10, 1, 3600),
        retryCount: integer(def.retryCount, 3, 0, 100),
        timeout: integer(def.timeout, 10, 1, 3600),
        logLevel: integer(def.logLevel, 1, 0, 3),
        predefined,
        reconnectMinMs: 1000,
        reconnectMaxMs: 30000,
        dtls: dtlsSettings(def, node.credentials, tls),
        dtlsFailure,
      },
      {
        log: (message) => node.log(message),
        warn: (message) => node.warn(message),
        debug: (message) => node.debug(message),
      },
    );
    node.on('close', (_removed, done) => {
      void bounded(node.connection.stop()).then(() => done());
    });
  }
  RED.nodes.registerType('mqtt-sn-broker', MqttSnBrokerNode, {
    credentials: { pskIdentity: { type: 'text' }, pskKey: { type: 'password' } },
  });
}

/** The config node a user node selected, or undefined (after logging why). */
function brokerOf(RED: NodeAPI, node: Node, brokerId: string | undefined): BrokerNode | undefined {
  const broker = brokerId ? (RED.nodes.getNode(brokerId) as BrokerNode | null) : null;
  if (!broker || !broker.connection) {
    node.error(RED._('mqtt-sn.errors.missing-config'));
    return undefined;
  }
  return broker;
}

/**
 * Makes `node` a user of its config node's connection, as every node but the
 * gateway is: it shows the link state, and on close it runs `release` (if
 * given) and leaves, within CLOSE_LIMIT_MS. Undefined when the config node is
 * missing (logged).
 */
export function joinConnection(
  RED: NodeAPI,
  node: UserNode,
  brokerId: string | undefined,
  release?: (conn: GatewayConnection, removed: boolean) => Promise<unknown>,
): GatewayConnection | undefined {
  const conn = brokerOf(RED, node, brokerId)?.connection;
  if (!conn) return undefined;
  conn.register(node);
  node.on('close', (removed, done) => {
    // Leaves even when releasing fails, so a last user's leaving still stops the client.
    const released = release ? release(conn, removed).catch(() => undefined) : Promise.resolve();
    void bounded(released.then(() => conn.deregister(node, removed))).then(() => done());
  });
  return conn;
}
