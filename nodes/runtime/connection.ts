/**
 * The engine of the config node: one MQTT-SN client per gateway connection,
 * shared by every node that uses it. It connects when the first user
 * arrives, reconnects with back-off, restores subscriptions and topic
 * registrations after a reconnect, routes inbound messages to subscribers,
 * and tells its users (through their status) how the link is doing.
 */
import { ErrorCode, MqttSnError, hasWildcard, topicMatches, type TopicIdTypeValue } from '../../lib';
import { Backoff } from './backoff';
import { createClient, type ClientSettings, type InboundEvent, type SnClient } from './client';
import type { NodeStatus } from './red';
import { statusOf, type LinkState } from './status';
import { kindOfType, typeOfKind, isValidTopicId, type PredefinedTopics, type TopicKind } from './topics';

export interface ConnectionSettings extends Omit<ClientSettings, 'predefined'> {
  predefined: PredefinedTopics;
  /** First reconnect delay; doubles up to reconnectMaxMs. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

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

export type SessionQoS = 0 | 1 | 2;

export interface SubscriptionSpec {
  /** Topic name or filter; a short name; or a pre-defined id (digits) or its name. */
  topic: string;
  kind: TopicKind;
  qos: SessionQoS;
}

export interface InboundMessage {
  /** The topic name, resolved through the registry; the id as text when unknown. */
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  duplicate: boolean;
  topicId: number | string;
  topicIdType: TopicIdTypeValue;
}

export type MessageListener = (message: InboundMessage) => void;

interface Subscription extends SubscriptionSpec {
  /** The pre-defined id, for kind 'predefined'. */
  id?: number;
  /** One listener per subscribing node. */
  listeners: Map<string, MessageListener>;
}

/** Bounds every wait on the client, so a lost packet never wedges a flow. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MqttSnError(ErrorCode.TIMEOUT, `${what}: no answer from the gateway.`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function subscriptionKey(kind: TopicKind, topic: string): string {
  return `${kind}:${topic}`;
}

export class GatewayConnection {
  private state: LinkState = 'disconnected';
  /** A more precise status text than the state's own, e.g. "refused". */
  private stateText: string | undefined;
  private client: SnClient | undefined;
  /** Sends QoS -1 messages while there is no session client (before the first attempt, after a stop). */
  private datagramClient: SnClient | undefined;
  private readonly users = new Map<string, ConnectionUser>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Topic ids the gateway gave us (REGACK, SUBACK, REGISTER) → names. */
  private readonly topicNames = new Map<number, string>();
  /** Names we publish to → their registered ids (for this session). */
  private readonly registered = new Map<string, number>();
  /** REGISTERs under way: a burst of publishes to a new name sends one. */
  private readonly registering = new Map<string, Promise<number>>();
  /**
   * Register, subscribe, unsubscribe and sleep calls run one at a time.
   * A publish waits only for the calls queued before it, not for other
   * publishes: the client's own MaxInFlight window orders those.
   */
  private queue: Promise<unknown> = Promise.resolve();
  /** Publishes handed to the client and not yet settled: a sleep waits for them. */
  private readonly publishing = new Set<Promise<unknown>>();
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  /** Set by a 'disconnect' action: stay disconnected until a 'connect' action. */
  private held = false;
  /** Told of every state change: publishes waiting for the connection. */
  private readonly stateWatchers = new Set<() => void>();

  constructor(
    readonly settings: ConnectionSettings,
    private readonly logger: ConnectionLog,
  ) {
    this.backoff = new Backoff(settings.reconnectMinMs, settings.reconnectMaxMs);
  }

  get linkState(): LinkState {
    return this.state;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Connected, asleep or awake: the gateway holds a session for us. */
  private get hasSession(): boolean {
    return this.state === 'connected' || this.state === 'asleep' || this.state === 'awake';
  }

  /** The gateway's address as users read it in logs. */
  get label(): string {
    const where = `${this.settings.host}:${this.settings.port}`;
    return `${this.settings.clientId}@${this.settings.discover ? `(search ${where})` : where}`;
  }

  // ---- users -------------------------------------------------------------

  /** Adds a user; the first one starts the connection. */
  register(user: ConnectionUser): void {
    this.users.set(user.id, user);
    user.status(statusOf(this.state, this.stateText));
    if (this.users.size === 1) this.start();
  }

  /** Removes a user; once the last one is removed (not merely restarted) the client disconnects. */
  async deregister(user: ConnectionUser, removed: boolean): Promise<void> {
    this.users.delete(user.id);
    user.status({});
    if (removed && this.users.size === 0) await this.stop();
  }

  // ---- connection ----------------------------------------------------------

  private start(): void {
    this.closed = false;
    if (this.held) return;
    if (this.state === 'connected') return;
    // An attempt abandoned by a stop() just before may still be settling: start after it.
    const pending = this.connecting ?? Promise.resolve();
    void pending.then(() => {
      if (!this.closed && !this.connecting && this.state !== 'connected') void this.connect();
    });
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    this.clearReconnect();
    this.disposeClient();
    this.setState('connecting');
    const client = createClient({ ...this.settings, predefined: this.settings.predefined.toObject() });
    this.client = client;
    this.attach(client);
    try {
      await withDeadline(client.connect(), this.callDeadlineMs(), 'connect');
    } catch (err) {
      if (this.client !== client || this.closed) return;
      const refused = err instanceof MqttSnError && err.code === ErrorCode.CONNECTION_REFUSED;
      // Logged, not warned: while a gateway is down this repeats at every attempt.
      this.logger.log(`connect to ${this.label} failed: ${(err as Error).message}`);
      // The client stays until the next attempt replaces it: QoS -1 needs no connection.
      this.setState(refused ? 'error' : 'disconnected', refused ? 'mqtt-sn.status.refused' : undefined);
      this.scheduleReconnect();
      return;
    }
    if (this.client !== client || this.closed) return;
    this.backoff.reset();
    // Ids belong to a session: this one learns its own.
    this.topicNames.clear();
    this.logger.log(`connected to ${this.label}`);
    this.setState('connected');
    await this.restore();
  }

  /** After a (re)connect: subscribe again, and register again the names we published to. */
  private async restore(): Promise<void> {
    const names = [...this.registered.keys()];
    this.registered.clear();
    this.registering.clear();
    // Queued at once, so that they go out before anything users send next.
    const resubscribed = [...this.subscriptions.values()].map((sub) =>
      this.subscribeOnGateway(sub).catch((err: Error) => {
        this.logger.warn(`subscribe ${sub.topic} failed: ${err.message}`);
      }),
    );
    const reregistered = names.map((name) =>
      this.registerTopic(name).catch((err: Error) => {
        this.logger.warn(`register ${name} failed: ${err.message}`);
      }),
    );
    await Promise.all([...resubscribed, ...reregistered]);
  }

  private attach(client: SnClient): void {
    client.on('disconnected', () => {
      if (this.client !== client || this.closed) return;
      if (this.state === 'connecting') return; // the failing connect() reports it
      this.logger.log(`disconnected from ${this.label}`);
      this.setState('disconnected');
      this.scheduleReconnect();
    });
    client.on('messageIn', (event) => {
      if (this.client === client) this.dispatch(event);
    });
    client.on('topicInfo', (event) => {
      if (this.client === client && typeof event.topicId === 'number') this.topicNames.set(event.topicId, event.topicName);
    });
    client.on('error', (event) => {
      if (this.client === client) this.logger.warn(`${event.description} (${event.errorCode})`);
    });
    client.on('log', (event) => {
      if (this.client === client) this.logger.debug(event.message);
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.users.size === 0 || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.logger.debug(`reconnecting to ${this.label} in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) void this.connect();
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private disposeClient(): void {
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      // An error event with no listener would throw: keep one that ignores late errors.
      client.on('error', () => undefined);
      client.close();
    }
  }

  /** Disconnects (bounded) and stops reconnecting. */
  async stop(): Promise<void> {
    this.closed = true;
    this.clearReconnect();
    const client = this.client;
    if (client && this.hasSession) {
      await withDeadline(client.disconnect(), 2000, 'disconnect').catch(() => undefined);
    }
    this.disposeClient();
    this.datagramClient?.close();
    this.datagramClient = undefined;
    this.registered.clear();
    this.registering.clear();
    this.setState('disconnected');
  }

  /**
   * A 'connect' action: connects now (after a 'disconnect' action, or while
   * waiting for the next attempt) and resolves once connected.
   */
  async connectByRequest(): Promise<void> {
    this.held = false;
    this.closed = false;
    if (this.hasSession) return;
    // An attempt under way (or one a stop() abandoned) settles first; then try once more if needed.
    if (this.connecting) await this.connecting;
    if (!this.connected) await this.connect();
    if (!this.connected) {
      throw new MqttSnError(ErrorCode.NOT_CONNECTED, `connect: could not connect to ${this.label}.`);
    }
  }

  /** A 'disconnect' action: DISCONNECT, and no reconnecting until a 'connect' action. */
  async disconnectByRequest(): Promise<void> {
    this.held = true;
    await this.stop();
  }

  private setState(state: LinkState, text?: string): void {
    this.state = state;
    this.stateText = text;
    const status = statusOf(state, text);
    for (const user of this.users.values()) user.status(status);
    for (const watcher of [...this.stateWatchers]) watcher();
  }

  /**
   * Resolves once connected. While the client is (re)connecting it waits, up
   * to the configured timeout, as the core MQTT nodes hold messages while
   * reconnecting; asleep, stopped or disconnected on request, it rejects at once.
   */
  private async whenActive(what: string): Promise<void> {
    if (this.hasSession || this.closed || this.held) {
      this.requireActive(what);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.stateWatchers.delete(watch);
        if (err) reject(err);
        else resolve();
      };
      const watch = () => {
        if (this.state === 'connected') finish();
        else if (this.closed || this.held) finish(new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected to ${this.label}.`));
      };
      const timer = setTimeout(
        () => finish(new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected to ${this.label} within ${this.settings.timeout} s.`)),
        this.settings.timeout * 1000,
      );
      this.stateWatchers.add(watch);
    });
  }

  private callDeadlineMs(): number {
    // The client retries on its own; this only guards against a call that never settles.
    return (this.settings.timeout + this.settings.retryInterval * (this.settings.retryCount + 1)) * 1000 + 1000;
  }

  /** Runs client calls one after another; rejects at once when there is no client. */
  private enqueue<T>(what: string, call: (client: SnClient) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const client = this.client;
      if (!client) throw new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected to ${this.label}.`);
      return withDeadline(call(client), this.callDeadlineMs(), what);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Hands a publish to the client now, bounded by the call deadline; the
   * client's in-flight window decides when it goes out.
   */
  private publishNow(what: string, call: (client: SnClient) => Promise<void>): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected to ${this.label}.`));
    const result = withDeadline(call(client), this.callDeadlineMs(), what);
    const settled = result.catch(() => undefined);
    this.publishing.add(settled);
    void settled.then(() => this.publishing.delete(settled));
    return result;
  }

  /** Resolves once every publish handed to the client has settled. */
  private async publishesSettled(): Promise<void> {
    await Promise.all([...this.publishing]);
  }

  private requireActive(what: string): void {
    if (this.state === 'connected') return;
    if (this.state === 'asleep' || this.state === 'awake') {
      throw new MqttSnError(ErrorCode.WRONG_STATE, `${what}: the client is asleep; wake it first.`);
    }
    throw new MqttSnError(ErrorCode.NOT_CONNECTED, `${what}: not connected to ${this.label}.`);
  }

  // ---- topics ----------------------------------------------------------------

  /** The pre-defined id named by `topic`: its digits, or its name in the map. */
  predefinedId(topic: string): number {
    const id = /^\d+$/.test(topic) ? Number(topic) : this.settings.predefined.idOf(topic);
    if (id === undefined || !isValidTopicId(id)) {
      throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `"${topic}" is neither a pre-defined topic id nor a name in the pre-defined topics.`);
    }
    return id;
  }

  /** The name behind an inbound topic id. */
  private nameOf(topicId: number | string, type: TopicIdTypeValue): string {
    if (typeof topicId === 'string') return topicId;
    if (type === 1) return this.settings.predefined.nameOf(topicId) ?? String(topicId);
    if (type === 2) return String.fromCharCode(topicId >> 8, topicId & 0xff);
    return this.topicNames.get(topicId) ?? String(topicId);
  }

  /** REGISTER a name (once per session) and return its id. */
  async registerTopic(name: string): Promise<number> {
    this.requireActive('register');
    const known = this.registered.get(name);
    if (known !== undefined) return known;
    const pending = this.registering.get(name);
    if (pending) return pending;
    const registration = this.enqueue('register', (client) => client.registerTopic(name))
      .then((id) => {
        this.registered.set(name, id);
        this.topicNames.set(id, name);
        return id;
      })
      .finally(() => {
        if (this.registering.get(name) === registration) this.registering.delete(name);
      });
    this.registering.set(name, registration);
    return registration;
  }

  // ---- publish -----------------------------------------------------------------

  /**
   * Publishes to a topic name (registered on first use, or its pre-defined id
   * when the map has it), a short name or a pre-defined id. Resolves once the
   * gateway has acknowledged (QoS 1 and 2) or the packet is sent (QoS 0, -1).
   */
  async publish(topic: string, kind: TopicKind, qos: -1 | 0 | 1 | 2, retain: boolean, payload: Buffer | string): Promise<void> {
    if (qos !== -1) await this.whenActive('publish');
    // Subscribes, unsubscribes and registers asked for before this publish go first
    // (a flow that subscribes and then publishes hears itself); other publishes do not.
    const earlierCalls = this.queue;
    let topicId: number | string;
    let type: TopicIdTypeValue;
    if (kind === 'short') {
      topicId = topic;
      type = typeOfKind('short');
    } else if (kind === 'predefined' || (kind === 'normal' && this.settings.predefined.idOf(topic) !== undefined)) {
      topicId = this.predefinedId(topic);
      type = typeOfKind('predefined');
    } else {
      if (qos === -1) {
        throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, 'QoS -1 needs a short topic or a pre-defined topic id.');
      }
      topicId = await this.registerTopic(topic);
      type = typeOfKind('normal');
    }
    if (qos !== -1) this.requireActive('publish');
    else if (!this.client) {
      // QoS -1 needs no session: any socket will do while the session client does not exist.
      const client = this.spareClient();
      await withDeadline(client.publish(topicId, type, qos, retain, payload), this.callDeadlineMs(), 'publish');
      return;
    }
    await earlierCalls;
    if (qos !== -1) this.requireActive('publish');
    await this.publishNow('publish', (client) => client.publish(topicId, type, qos, retain, payload));
  }

  private spareClient(): SnClient {
    if (!this.datagramClient) {
      const client = createClient({ ...this.settings, will: undefined, predefined: this.settings.predefined.toObject() });
      client.on('error', (event) => this.logger.warn(`${event.description} (${event.errorCode})`));
      this.datagramClient = client;
    }
    return this.datagramClient;
  }

  // ---- subscriptions ---------------------------------------------------------

  /** Adds `ref`'s listener to a subscription, subscribing on the gateway when it is new. */
  async subscribe(ref: string, spec: SubscriptionSpec, listener: MessageListener): Promise<void> {
    const key = subscriptionKey(spec.kind, spec.topic);
    let sub = this.subscriptions.get(key);
    const isNew = !sub || sub.qos !== spec.qos;
    if (!sub) {
      sub = { ...spec, listeners: new Map() };
      if (spec.kind === 'predefined') sub.id = this.predefinedId(spec.topic);
      this.subscriptions.set(key, sub);
    }
    sub.qos = spec.qos;
    sub.listeners.set(ref, listener);
    if (isNew && this.state === 'connected') await this.subscribeOnGateway(sub);
  }

  /**
   * Removes `ref`'s listener; the last one gone unsubscribes on the gateway,
   * unless `onGateway` is false (a node restarting keeps a persistent session's
   * subscription, as the core MQTT nodes do).
   */
  async unsubscribe(ref: string, spec: Pick<SubscriptionSpec, 'topic' | 'kind'>, onGateway = true): Promise<void> {
    const key = subscriptionKey(spec.kind, spec.topic);
    const sub = this.subscriptions.get(key);
    if (!sub || !sub.listeners.delete(ref) || sub.listeners.size > 0) return;
    this.subscriptions.delete(key);
    if (!onGateway || this.state !== 'connected') return;
    const topic = sub.kind === 'predefined' ? (sub.id as number) : sub.topic;
    await this.enqueue('unsubscribe', (client) => client.unsubscribe(topic, typeOfKind(sub.kind)));
  }

  private async subscribeOnGateway(sub: Subscription): Promise<void> {
    const topic = sub.kind === 'predefined' ? (sub.id as number) : sub.topic;
    const topicId = await this.enqueue('subscribe', (client) => client.subscribe(topic, typeOfKind(sub.kind), sub.qos));
    if (sub.kind === 'normal' && !hasWildcard(sub.topic) && topicId) this.topicNames.set(topicId, sub.topic);
  }

  private matches(sub: Subscription, name: string, event: InboundEvent): boolean {
    switch (sub.kind) {
      case 'normal':
        return topicMatches(sub.topic, name);
      case 'predefined':
        return (event.topicIdType === 1 && event.topicId === sub.id) || name === this.settings.predefined.nameOf(sub.id as number);
      case 'short':
        return name === sub.topic;
    }
  }

  private dispatch(event: InboundEvent): void {
    const topic = event.topicName ?? this.nameOf(event.topicId, event.topicIdType);
    const message: InboundMessage = {
      topic,
      payload: event.payload,
      qos: event.qos,
      retain: event.retained,
      duplicate: event.duplicate,
      topicId: event.topicIdType === 2 && typeof event.topicId === 'number' ? topic : event.topicId,
      topicIdType: event.topicIdType,
    };
    // A node hears each message once, however many of its subscriptions match.
    const delivered = new Set<string>();
    for (const sub of this.subscriptions.values()) {
      if (!this.matches(sub, topic, event)) continue;
      for (const [ref, listener] of sub.listeners) {
        if (delivered.has(ref)) continue;
        delivered.add(ref);
        listener(message);
      }
    }
    if (delivered.size === 0) this.logger.debug(`message on ${topic} (${kindOfType(event.topicIdType)}) matched no subscription`);
  }

  // ---- sleep -----------------------------------------------------------------

  /** DISCONNECT with a duration: the gateway buffers messages until we wake or retrieve. */
  async sleep(seconds: number): Promise<void> {
    if (!this.hasSession) this.requireActive('sleep');
    // The client refuses to sleep while a QoS 1/2 publish awaits its acknowledgement.
    await this.enqueue('sleep', async (client) => {
      await this.publishesSettled();
      await client.startSleep(seconds);
    });
    this.setState('asleep');
  }

  /** Wake briefly: the gateway delivers what it buffered, then we are asleep again. */
  async retrieve(): Promise<void> {
    if (this.state !== 'asleep' && this.state !== 'awake') {
      throw new MqttSnError(ErrorCode.WRONG_STATE, 'retrieve: the client is not asleep.');
    }
    await this.enqueue('retrieve', async (client) => {
      this.setState('awake');
      try {
        await client.retrieveMessages();
      } finally {
        if (this.state === 'awake') this.setState('asleep');
      }
    });
  }

  /** Back to active: connect again and restore the subscriptions. */
  async wake(): Promise<void> {
    if (this.state !== 'asleep' && this.state !== 'awake') {
      throw new MqttSnError(ErrorCode.WRONG_STATE, 'wake: the client is not asleep.');
    }
    await this.enqueue('wake', (client) => client.stopSleep());
    this.setState('connected');
    await this.restore();
  }

  // ---- introspection ---------------------------------------------------------

  /** The subscriptions one node holds. */
  subscriptionsOf(ref: string): SubscriptionSpec[] {
    return [...this.subscriptions.values()]
      .filter((sub) => sub.listeners.has(ref))
      .map(({ topic, kind, qos }) => ({ topic, kind, qos }));
  }
}
