/**
 * The MQTTSN client as the nodes drive it: configured from the config node's
 * settings, with the calls and events the nodes need in one small surface.
 */
import { EventEmitter } from 'node:events';
import { MQTTSN, type TopicIdTypeValue } from '../../lib';

export interface WillSettings {
  topic: string;
  message: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface ClientSettings {
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
  /** Seconds a call waits for its acknowledgement. */
  timeout: number;
  /** 0 none, 1 info, 2 verbose, 3 debug. */
  logLevel: number;
  /** Pre-defined topic ids shared with the gateway. */
  predefined: Record<string, string>;
}

export interface InboundEvent {
  topicId: number | string;
  /** The name when the client knows it. */
  topicName: string | undefined;
  topicIdType: TopicIdTypeValue;
  qos: number;
  payload: Buffer;
  retained: boolean;
  duplicate: boolean;
}

interface ClientEvents {
  disconnected: [];
  messageIn: [InboundEvent];
  topicInfo: [{ topicId: number; topicName: string }];
  error: [{ errorCode: number; description: string }];
  log: [{ message: string }];
}

export interface SnClient {
  on<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): this;
  removeAllListeners(): this;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Releases the socket and every timer, whatever the state. */
  close(): void;
  registerTopic(name: string): Promise<number>;
  publish(topicId: number | string, type: TopicIdTypeValue, qos: -1 | 0 | 1 | 2, retain: boolean, payload: Buffer | string): Promise<void>;
  /** Resolves with the topic id the gateway assigned (0 for wildcards, short and pre-defined). */
  subscribe(topic: number | string, type: TopicIdTypeValue, qos: 0 | 1 | 2): Promise<number>;
  unsubscribe(topic: number | string, type: TopicIdTypeValue): Promise<void>;
  startSleep(seconds: number): Promise<void>;
  retrieveMessages(): Promise<void>;
  stopSleep(): Promise<void>;
}

function toBuffer(message: unknown): Buffer {
  if (Buffer.isBuffer(message)) return message;
  if (message instanceof Uint8Array) return Buffer.from(message);
  return Buffer.from(String(message ?? ''), 'utf8');
}

class NodeClient extends EventEmitter implements SnClient {
  private readonly mqttsn: MQTTSN;
  private readonly discover: { radius: number } | undefined;

  constructor(settings: ClientSettings) {
    super();
    const c = new MQTTSN();
    this.mqttsn = c;
    this.discover = settings.discover;
    if (settings.discover) {
      c.config(`DiscoveryAddress=${settings.host}`);
      c.config(`DiscoveryPort=${settings.port}`);
      // The spec's random wait before SEARCHGW avoids storms of searches; one client can start at once.
      c.config('SearchGwDelay=0.2');
    } else {
      c.remoteHost = settings.host;
      c.remotePort = settings.port;
    }
    c.clientId = settings.clientId;
    c.cleanSession = settings.cleanSession;
    c.keepAliveInterval = settings.keepAlive;
    c.timeout = settings.timeout;
    if (settings.will) {
      c.willTopic = settings.will.topic;
      c.willMessage = settings.will.message;
      c.config(`WillQOS=${settings.will.qos}`);
      c.config(`WillRetain=${settings.will.retain}`);
    }
    c.config(`ConnectionTimeout=${settings.timeout}`);
    c.config(`MaxInFlight=${settings.maxInFlight}`);
    c.config(`RetryInterval=${settings.retryInterval}`);
    c.config(`RetryCount=${settings.retryCount}`);
    c.config(`LogLevel=${settings.logLevel}`);
    c.config(`PredefinedTopics=${JSON.stringify(settings.predefined)}`);
    c.on('disconnected', () => this.emit('disconnected'));
    c.on('messageIn', (e) =>
      this.emit('messageIn', {
        topicId: e.topicId,
        topicIdType: e.topicIdType,
        topicName: e.topicName,
        qos: e.qos,
        payload: toBuffer(e.message),
        retained: e.retained,
        duplicate: e.duplicate,
      }),
    );
    c.on('topicInfo', (e) => this.emit('topicInfo', { topicId: e.topicId, topicName: e.topicName }));
    c.on('error', (e) => this.emit('error', { errorCode: e.errorCode, description: e.description }));
    c.on('log', (e) => this.emit('log', { message: e.message }));
  }

  async connect(): Promise<void> {
    // With discovery, connect() goes to the gateway that answered first.
    if (this.discover) await this.mqttsn.discoverGateway(this.discover.radius);
    await this.mqttsn.connect();
  }

  disconnect(): Promise<void> {
    return this.mqttsn.disconnect().then(() => undefined);
  }

  close(): void {
    this.mqttsn.reset();
  }

  registerTopic(name: string): Promise<number> {
    return this.mqttsn.registerTopic(name);
  }

  async publish(topicId: number | string, type: TopicIdTypeValue, qos: -1 | 0 | 1 | 2, retain: boolean, payload: Buffer | string): Promise<void> {
    // Per call, not through the Retain setting: several publishes may be in flight at once.
    if (typeof payload === 'string') await this.mqttsn.publishMessage(topicId, type, qos, payload, { retain });
    else await this.mqttsn.publishData(topicId, type, qos, payload, { retain });
  }

  async subscribe(topic: number | string, type: TopicIdTypeValue, qos: 0 | 1 | 2): Promise<number> {
    const result = await this.mqttsn.subscribe(topic, type, qos);
    return result?.topicId ?? 0;
  }

  async unsubscribe(topic: number | string, type: TopicIdTypeValue): Promise<void> {
    await this.mqttsn.unsubscribe(topic, type);
  }

  async startSleep(seconds: number): Promise<void> {
    await this.mqttsn.startSleep(seconds);
  }

  async retrieveMessages(): Promise<void> {
    await this.mqttsn.retrieveMessages();
  }

  async stopSleep(): Promise<void> {
    await this.mqttsn.stopSleep();
  }
}

export function createClient(settings: ClientSettings): SnClient {
  return new NodeClient(settings);
}
