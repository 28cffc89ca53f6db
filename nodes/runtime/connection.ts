/**
 * The config node's connection: one MqttSnClient (which connects, reconnects,
 * restores the session and holds publishes meanwhile) shared by every node
 * that uses it. This keeps only what is the nodes' own: who uses the
 * connection and the status they all show; NodeSubscriptions keeps whose
 * listener hears which subscription.
 */
import { ErrorCode, type MqttSnClient, type MqttSnError } from '../../lib';
import { connectionClient, type AnnouncementSettings, type ConnectionSettings } from './client-options';
import type { NodeStatus } from './red';
import { reasonKey } from './report';
import { statusOf, type LinkState } from './status';
import { NodeSubscriptions, predefinedId, type MessageListener, type SubscriptionSpec } from './subscriptions';
import type { TopicKind } from './topics';

export type { ConnectionSettings } from './client-options';
export type { InboundMessage, MessageListener, SessionQoS, SubscriptionSpec } from './subscriptions';

/** A node that uses the connection: it is told the link state through its status. */
export interface ConnectionUser {
  readonly id: string;
  status(status: NodeStatus): void;
}

/** Where the connection reports what it does (the config node). */
export interface ConnectionLog {
  log(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** The status after a session or an attempt ended: the reason in a word or two ("port closed", "no answer"). */
function closedStatus(reason: MqttSnError | undefined): [LinkState, string | undefined] {
  if (!reason) return ['disconnected', undefined];
  const key = reasonKey(reason);
  if (reason.code === ErrorCode.CONNECTION_REFUSED) return ['error', key];
  return ['disconnected', key === 'node-red:common.status.error' ? undefined : key];
}

export class GatewayConnection {
  private state: LinkState = 'disconnected';
  /** The reason shown with the state, if any. */
  private stateText: string | undefined;
  private readonly client: MqttSnClient;
  private readonly subscriptions: NodeSubscriptions;
  private readonly users = new Map<string, ConnectionUser>();
  /** Set by a 'disconnect' action: stay disconnected until a 'connect' action. */
  private held = false;

  constructor(
    readonly settings: ConnectionSettings,
    logger: ConnectionLog,
  ) {
    const client = connectionClient(settings, (error) => logger.warn(`DTLS: ${error.description} (${error.code})`));
    this.client = client;
    this.subscriptions = new NodeSubscriptions(client, settings.predefined, (message) => logger.warn(message));
    client.on('reconnect', () => this.setState('connecting'));
    client.on('connect', (info) => {
      logger.log(`connected to ${this.label}`);
      this.setState('connected');
      this.subscriptions.onConnect(info.reconnected);
      // As the core MQTT client: the birth message on every connection.
      this.announce(settings.birth).catch((error: MqttSnError) => logger.warn(`birth message to ${settings.birth?.topic}: ${error.description}`));
    });
    client.on('close', (reason) => {
      // Logged, not warned: while a gateway is down this repeats at every attempt.
      if (reason) logger.log(`connection to ${this.label} closed: ${reason.description}`);
      this.setState(...closedStatus(reason));
    });
    client.on('message', (topic, payload, info) => {
      if (!this.subscriptions.dispatch(topic, payload, info)) logger.debug(`message on ${topic} matched no subscription`);
    });
    client.on('error', (error) => {
      // A closed port ends the attempt: its 'close' logs it and the status shows it, at every retry; a warning each time would flood the sidebar.
      if (error.code !== ErrorCode.PORT_UNREACHABLE) logger.warn(`${error.description} (${error.code})`);
    });
    client.on('log', (event) => logger.debug(event.message));
  }

  get linkState(): LinkState {
    return this.state;
  }

  /** The gateway's address as users read it in logs. */
  get label(): string {
    const where = `${this.settings.host}:${this.settings.port}`;
    return `${this.settings.clientId}@${this.settings.discover ? `(search ${where})` : where}`;
  }

  /** Adds a user; the first one starts the connection. */
  register(user: ConnectionUser): void {
    this.users.set(user.id, user);
    user.status(statusOf(this.state, this.stateText));
    if (this.users.size === 1 && !this.held && this.settings.autoConnect && !this.client.connected) {
      this.setState('connecting');
      this.client.connect().catch(() => undefined);
    }
  }

  /** Removes a user; once the last one is removed (not merely restarted) the client disconnects. */
  async deregister(user: ConnectionUser, removed: boolean): Promise<void> {
    this.users.delete(user.id);
    user.status({});
    if (removed && this.users.size === 0) await this.stop();
  }

  /** Publishes the close message (as the core MQTT client does before disconnecting), disconnects (within 2 s) and stops reconnecting. */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
    const closing = this.client.connected ? this.announce(this.settings.close).catch(() => undefined) : Promise.resolve();
    await Promise.race([closing.then(() => this.client.end()), limit]).finally(() => clearTimeout(timer));
    await this.client.end(true);
    this.setState('disconnected');
  }

  /** A 'connect' action: connects now and resolves once connected. */
  async connectByRequest(): Promise<void> {
    this.held = false;
    if (!this.client.connected) this.setState('connecting');
    await this.client.connect();
  }

  /** A 'disconnect' action: DISCONNECT, and no reconnecting until a 'connect' action. */
  async disconnectByRequest(): Promise<void> {
    this.held = true;
    await this.stop();
  }

  /** Publishes a birth or close message, if one is set. */
  private async announce(message: AnnouncementSettings | undefined): Promise<void> {
    if (!message) return;
    await this.client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain, topicType: 'normal' });
  }

  private setState(state: LinkState, text?: string): void {
    this.state = state;
    this.stateText = text;
    const status = statusOf(state, text);
    for (const user of this.users.values()) user.status(status);
  }

  /** The pre-defined id named by `topic`: its digits, or its name in the map. */
  predefinedId(topic: string): number {
    return predefinedId(this.settings.predefined, topic);
  }

  /** REGISTERs a name (once per session) and returns its id. */
  registerTopic(name: string): Promise<number> {
    return this.client.register(name);
  }

  /** Publishes to a topic name, a short name or a pre-defined id (digits or its name), after the subscribes asked for before. */
  async publish(topic: string, kind: TopicKind, qos: -1 | 0 | 1 | 2, retain: boolean, payload: Buffer | string): Promise<void> {
    const name = kind === 'predefined' ? String(this.predefinedId(topic)) : topic;
    await this.subscriptions.settled();
    return this.client.publish(name, payload, { qos, retain, topicType: kind });
  }

  subscribe(ref: string, spec: SubscriptionSpec, listener: MessageListener): Promise<void> {
    return this.subscriptions.add(ref, spec, listener);
  }

  /** The last listener gone unsubscribes on the gateway, unless `onGateway` is false (a restarting node keeps a persistent session's subscription). */
  unsubscribe(ref: string, spec: Pick<SubscriptionSpec, 'topic' | 'kind'>, onGateway = true): Promise<void> {
    return this.subscriptions.remove(ref, spec, onGateway);
  }

  subscriptionsOf(ref: string): SubscriptionSpec[] {
    return this.subscriptions.of(ref);
  }

  /** DISCONNECT with a duration: the gateway buffers messages until we wake or retrieve. */
  async sleep(seconds: number): Promise<void> {
    await this.client.sleep(seconds);
    this.setState('asleep');
  }

  /** Wake briefly: the gateway delivers what it buffered, then we are asleep again. */
  async retrieve(): Promise<void> {
    this.setState('awake');
    try {
      await this.client.retrieve();
    } finally {
      if (this.state === 'awake') this.setState('asleep');
    }
  }

  /** Back to active. */
  async wake(): Promise<void> {
    await this.client.wake();
    this.setState('connected');
  }
}
