/**
 * The broker side of sessions, over MQTT.js.
 *
 * - TransparentLink: one MQTT connection per MQTT-SN client; the broker owns
 *   the session, the will and retained messages.
 * - SharedConnection + AggregatingLink: one MQTT connection for every client;
 *   the gateway fans messages out to the sessions and publishes wills itself.
 *   The transparent gateway also keeps one SharedConnection for QoS -1.
 */
import type * as mqtt from 'mqtt';
import type { SessionQoS } from '../codec/packets';
import { corkForTurn, type BrokerDialer } from './broker-connection';
import { closeClient, type BrokerConnections } from './broker-connections';
import { dropUnacknowledgedOnClose, RefusedTopics } from './broker-refusal';
import type { DownstreamMessage } from './message-queue';
import type { LogLevel } from './options';
import type { OpenParams, UpstreamLink, UpstreamSink, Will } from './ports';
import { topicMatches } from '../topics';
import { WillUpdates } from './will-updates';

/** A lost broker connection of a session is made again after this long, doubling up to the maximum. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;

/** Keep-alive of the gateway's own MQTT connections, seconds. */
const BROKER_KEEPALIVE = 60;

type Log = (level: LogLevel, message: string) => void;

/**
 * A SUBSCRIBE that always reaches the broker: MQTT.js skips filters it has
 * already subscribed, but subscribing again is what makes the broker send the
 * retained messages to a new subscriber.
 */
function subscription(filter: string, qos: SessionQoS): mqtt.ISubscriptionMap {
  const map = { resubscribe: true } as mqtt.ISubscriptionMap;
  map[filter] = { qos };
  return map;
}

/** A message as the session takes it. */
function downstream(packet: mqtt.IPublishPacket, qos = packet.qos as SessionQoS): DownstreamMessage {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return { topic: packet.topic.toString(), payload, qos, retain: packet.retain };
}

/**
 * Hands every message of `client` to `take`, which calls back once the message is taken: only
 * then does MQTT.js acknowledge it to the broker and read the next packet. While a message is
 * held, nothing else is read, PINGRESP included: the pings go on regardless, so that neither side
 * takes the held connection for a dead one.
 */
function holdAcknowledgements(client: mqtt.MqttClient, take: (packet: mqtt.IPublishPacket, taken: () => void) => void): void {
  client.handleMessage = (packet, callback) => {
    const hold = { taken: false, keeper: undefined as ReturnType<typeof setInterval> | undefined };
    const stop = (): void => {
      clearInterval(hold.keeper);
      client.removeListener('close', stop);
    };
    take(packet, () => {
      if (hold.taken) return;
      hold.taken = true;
      stop();
      callback();
    });
    if (hold.taken) return;
    hold.keeper = setInterval(() => {
      client.sendPing();
      client.reschedulePing(true);
    }, (BROKER_KEEPALIVE * 1000) / 2);
    client.once('close', stop);
  };
}

function willOption(will: Will | undefined): mqtt.IClientOptions['will'] {
  return will ? { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain } : undefined;
}

export class TransparentLink implements UpstreamLink {
  private client: mqtt.MqttClient | undefined;
  private params: OpenParams | undefined;
  private readonly subscriptions = new Map<string, SessionQoS>();
  /** Operations issued while the connection is being replaced (will update). */
  private waiting: Array<(client: mqtt.MqttClient) => void> = [];
  private closed = false;
  private readonly willUpdates: WillUpdates;
  /** Set while the broker connection is lost and being made again. */
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnecting = false;
  /** Publishes handed to the connection and not settled yet. */
  private readonly unsettled = new Set<(error?: Error) => void>();
  /** Whether the broker kept the session at the last CONNACK. */
  private sessionPresent = false;

  constructor(
    private readonly dialer: BrokerDialer,
    private readonly sink: UpstreamSink,
    private readonly connections: BrokerConnections,
    private readonly log: Log,
    willUpdateIntervalMs = 0,
    /** MQTT username for the broker (the client's DTLS identity, when the gateway passes it on). */
    private readonly username?: string,
  ) {
    this.willUpdates = new WillUpdates(willUpdateIntervalMs, (will, done) => this.replaceWill(will, done));
  }

  open(params: OpenParams, done: (error?: Error) => void): void {
    this.params = params;
    this.afterClosed(params.clientId, () => {
      if (this.closed) return done(new Error('session ended'));
      this.connect(params.will, done);
    });
  }

  /** Runs `next` once no connection of `clientId` is open (the broker would see a takeover). */
  private afterClosed(clientId: string, next: () => void): void {
    const closing = this.connections.whenClosed(clientId);
    if (!closing) return next();
    void closing.then(() => this.afterClosed(clientId, next));
  }

  private connect(will: Will | undefined, done: (error?: Error) => void): void {
    const params = this.params as OpenParams;
    const client = this.dialer.dial({
      clientId: params.clientId,
      clean: params.cleanSession,
      keepalive: BROKER_KEEPALIVE,
      reconnectPeriod: 0,
      connectTimeout: 10000,
      protocolVersion: 4,
      will: willOption(will),
      ...(this.username !== undefined ? { username: this.username } : {}),
    });
    this.client = client;
    this.connections.add(params.clientId, client);
    let settled = false;
    client.once('connect', (connack) => {
      settled = true;
      if (this.closed) return;
      this.sessionPresent = connack.sessionPresent;
      done();
      const waiting = this.waiting;
      this.waiting = [];
      for (const op of waiting) op(client);
    });
    client.on('error', (error) => {
      this.log('debug', `broker connection of ${params.clientId}: ${error.message}`);
      if (settled) return;
      settled = true;
      this.client = undefined;
      this.connections.close(client, false);
      done(error);
    });
    client.on('close', () => {
      if (!settled) {
        settled = true;
        this.client = undefined;
        done(new Error('connection closed'));
      } else if (this.client === client && !this.closed) {
        // The broker went away (a restart, say): the MQTT-SN session stays, the connection is made again.
        this.client = undefined;
        this.log('warn', `broker connection of ${params.clientId} lost: connecting again`);
        this.scheduleReconnect();
        this.failUnsettled('connection to the broker lost');
      }
    });
    holdAcknowledgements(client, (packet, taken) => {
      // Not acknowledged once the link is closed: a persistent session at the broker keeps it.
      if (this.client === client) this.sink.deliver(downstream(packet), () => this.closed || taken());
      else taken();
    });
  }

  /** False while the broker connection is lost: requests are refused with congestion meanwhile. */
  get available(): boolean {
    return !this.reconnecting;
  }

  /** Connects again after a delay growing up to RECONNECT_MAX_MS, until it works or the session ends. */
  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnecting = true;
    const params = this.params as OpenParams;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.afterClosed(params.clientId, () => this.reconnect(params));
    }, this.reconnectDelay);
  }

  private reconnect(params: OpenParams): void {
    if (this.closed) return;
    this.connect(params.will, (error) => {
      if (this.closed) return;
      if (error) {
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
        this.scheduleReconnect();
        return;
      }
      this.reconnecting = false;
      this.reconnectDelay = RECONNECT_MIN_MS;
      const client = this.client;
      // A broker that kept the session keeps its subscriptions (and redelivers what was not acknowledged).
      if (!this.sessionPresent && client) for (const [filter, qos] of this.subscriptions) client.subscribe(subscription(filter, qos));
      this.log('info', `broker connection of ${params.clientId} made again${this.sessionPresent ? ', session kept' : ''}`);
      this.sink.upstreamResumed(this.sessionPresent);
    });
  }

  /** Runs `op` on the live connection, or once the replacement is up. */
  private withClient(op: (client: mqtt.MqttClient) => void): void {
    if (this.client?.connected) op(this.client);
    else this.waiting.push(op);
  }

  restore(subscriptions: ReadonlyMap<string, SessionQoS>, done?: () => void): void {
    for (const [filter, qos] of subscriptions) this.subscriptions.set(filter, qos);
    done?.();
  }

  publish(message: DownstreamMessage, done: (error?: Error) => void): void {
    this.withClient((client) => {
      corkForTurn(client);
      // MQTT.js keeps a QoS 1/2 publish of a lost connection for a reconnect of that same client,
      // which never comes: its caller hears of the loss when the connection closes.
      const settle = (error?: Error): void => {
        if (!this.unsettled.delete(settle)) return;
        done(error);
      };
      this.unsettled.add(settle);
      client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (error) => settle(error ?? undefined));
    });
  }

  /** Fails the publishes the lost connection will never settle. */
  private failUnsettled(reason: string): void {
    for (const settle of [...this.unsettled]) settle(new Error(reason));
  }

  subscribe(filter: string, qos: SessionQoS, done: (granted: number) => void): void {
    this.withClient((client) => {
      client.subscribe(subscription(filter, qos), (error, granted) => {
        const code = error || !granted || granted.length === 0 ? 128 : granted[0].qos;
        if (code <= 2) this.subscriptions.set(filter, code as SessionQoS);
        done(code);
      });
    });
  }

  unsubscribe(filter: string, done: () => void): void {
    this.subscriptions.delete(filter);
    this.withClient((client) => {
      client.unsubscribe(filter, () => done());
    });
  }

  /**
   * MQTT fixes the will at CONNECT: the connection is replaced (DISCONNECT
   * first, so the old will is discarded, not published) and, for a clean
   * session, the subscriptions are made again. At most one replacement per
   * will update interval (WillUpdates).
   */
  setWill(will: Will | undefined, done: (error?: Error) => void): void {
    this.willUpdates.request(will, done);
  }

  private replaceWill(will: Will | undefined, done: (error?: Error) => void): void {
    const old = this.client;
    if (!this.params || this.closed) return done();
    if (!old?.connected) {
      // Still connecting (or replacing the connection for an earlier update): apply once it is up.
      this.waiting.push(() => this.replaceWill(will, done));
      return;
    }
    this.params = { ...this.params, will };
    this.client = undefined;
    const clientId = this.params.clientId;
    this.connections.close(old, true);
    this.afterClosed(clientId, () => {
      if (this.closed) return done();
      this.connect(will, (error) => {
        if (error) {
          this.sink.upstreamLost(`reconnect for the new will failed: ${error.message}`);
          return done(error);
        }
        if (this.params?.cleanSession && this.client) {
          for (const [filter, qos] of this.subscriptions) this.client.subscribe(filter, { qos });
        }
        done();
      });
    });
  }

  close(publishWill: boolean): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.waiting = [];
    this.willUpdates.close();
    const client = this.client;
    this.client = undefined;
    // Without DISCONNECT (force) the broker publishes the will.
    if (client) this.connections.close(client, !publishWill);
  }
}

interface FilterEntry {
  links: Map<AggregatingLink, SessionQoS>;
  /** QoS the shared connection subscribed with. */
  upstreamQos: number;
}

/** One MQTT connection shared by many sessions (and the gateway's own publishes). */
export class SharedConnection {
  client: mqtt.MqttClient | undefined;
  /** Topics the broker closed this connection over, twice: refused here instead. */
  private readonly refusedTopics = new RefusedTopics();
  private readonly filters = new Map<string, FilterEntry>();
  /**
   * The subscription the broker answered last. A message with the retain flag
   * is sent because of a new subscription (MQTT 3.1.1 §3.3.1.3), right after
   * its SUBACK, so it belongs to that subscriber alone.
   */
  private retainedFor: { link: AggregatingLink; filter: string } | undefined;
  /** Subscriptions asked for and not yet written, then written and not yet answered (by packet id). */
  private readonly unsent: Array<{ link: AggregatingLink; filter: string }> = [];
  private readonly unanswered = new Map<number, { link: AggregatingLink; filter: string }>();

  constructor(
    private readonly dialer: BrokerDialer,
    private readonly clientId: string,
    private readonly log: Log,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects; rejects when the first attempt fails. Later losses reconnect on their own. */
  start(): Promise<void> {
    const client = this.dialer.dial({
      clientId: this.clientId,
      clean: true,
      keepalive: BROKER_KEEPALIVE,
      reconnectPeriod: 1000,
      connectTimeout: 10000,
      protocolVersion: 4,
    });
    this.client = client;
    dropUnacknowledgedOnClose(client, this.log, this.refusedTopics);
    holdAcknowledgements(client, (packet, taken) => this.dispatch(packet, taken));
    // Packet events come in wire order, unlike subscribe callbacks, which may
    // run after the retained messages that followed the SUBACK were handed out.
    client.on('packetsend', (packet) => {
      if (packet.cmd !== 'subscribe' || packet.messageId === undefined) return;
      const index = this.unsent.findIndex((s) => s.filter === packet.subscriptions[0]?.topic);
      if (index >= 0) this.unanswered.set(packet.messageId, this.unsent.splice(index, 1)[0]);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'suback' || packet.messageId === undefined) return;
      this.retainedFor = this.unanswered.get(packet.messageId);
      this.unanswered.delete(packet.messageId);
    });
    client.on('offline', () => this.log('warn', `broker ${this.dialer.label} unreachable, retrying`));
    client.on('reconnect', () => this.log('debug', `reconnecting to ${this.dialer.label}`));
    return new Promise<void>((resolve, reject) => {
      const onConnect = (): void => {
        client.removeListener('error', onError);
        client.on('error', (error) => this.log('warn', `broker connection: ${error.message}`));
        resolve();
      };
      const onError = (error: Error): void => {
        client.removeListener('connect', onConnect);
        this.client = undefined;
        client.end(true, () => reject(error));
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
  }

  stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.filters.clear();
    this.unsent.length = 0;
    this.unanswered.clear();
    this.retainedFor = undefined;
    return client ? closeClient(client, true) : Promise.resolve();
  }

  publish(message: DownstreamMessage, done: (error?: Error) => void): void {
    if (!this.client) return done(new Error('gateway stopped'));
    if (this.refusedTopics.refused(message.topic)) return done(new Error(`the broker refused ${message.topic} before`));
    corkForTurn(this.client);
    this.client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (error) => done(error ?? undefined));
  }

  subscribe(filter: string, qos: SessionQoS, link: AggregatingLink, done: (granted: number) => void): void {
    const client = this.client;
    if (!client) return done(128);
    let entry = this.filters.get(filter);
    if (!entry) {
      entry = { links: new Map(), upstreamQos: -1 };
      this.filters.set(filter, entry);
    }
    entry.links.set(link, qos);
    const wanted = Math.max(...entry.links.values()) as SessionQoS;
    const request = { link, filter };
    this.unsent.push(request);
    client.subscribe(subscription(filter, wanted), (error, granted) => {
      // Failed before it was written: nothing will take it off the list.
      const index = this.unsent.indexOf(request);
      if (index >= 0) this.unsent.splice(index, 1);
      const code = error || !granted || granted.length === 0 ? 128 : granted[0].qos;
      const current = this.filters.get(filter);
      if (code > 2) {
        current?.links.delete(link);
        if (current && current.links.size === 0) this.filters.delete(filter);
        return done(128);
      }
      if (current) current.upstreamQos = code;
      done(Math.min(code, current?.links.get(link) ?? qos));
    });
  }

  unsubscribe(filter: string, link: AggregatingLink, done: () => void): void {
    const entry = this.filters.get(filter);
    entry?.links.delete(link);
    if (!entry || entry.links.size > 0 || !this.client) return done();
    this.filters.delete(filter);
    this.client.unsubscribe(filter, () => done());
  }

  /** Drops every subscription of `link` (its session ended). */
  release(link: AggregatingLink): void {
    if (this.retainedFor?.link === link) this.retainedFor = undefined;
    for (const [filter, entry] of this.filters) {
      if (!entry.links.delete(link) || entry.links.size > 0) continue;
      this.filters.delete(filter);
      this.client?.unsubscribe(filter);
    }
  }

  /**
   * Hands a message to each session with a matching filter, at the QoS it was granted; `taken`
   * runs once every one of them has taken it.
   */
  private dispatch(packet: mqtt.IPublishPacket, taken: () => void): void {
    const message = downstream(packet);
    const targets = new Map<AggregatingLink, number>();
    if (message.retain) {
      const target = this.retainedFor;
      const granted = target && topicMatches(target.filter, message.topic) ? this.filters.get(target.filter)?.links.get(target.link) : undefined;
      if (target && granted !== undefined) targets.set(target.link, Math.min(message.qos, granted));
    } else {
      for (const [filter, entry] of this.filters) {
        if (!topicMatches(filter, message.topic)) continue;
        for (const [link, granted] of entry.links) {
          const effective = Math.min(message.qos, granted);
          if ((targets.get(link) ?? -1) < effective) targets.set(link, effective);
        }
      }
    }
    let waiting = targets.size + 1;
    const one = (): void => {
      if (--waiting === 0) taken();
    };
    for (const [link, effective] of targets) link.sink.deliver({ ...message, qos: effective as SessionQoS }, one);
    one();
  }
}

export class AggregatingLink implements UpstreamLink {
  private will: Will | undefined;
  private closed = false;

  constructor(
    private readonly shared: SharedConnection,
    readonly sink: UpstreamSink,
  ) {}

  open(params: OpenParams, done: (error?: Error) => void): void {
    this.will = params.will;
    done(this.shared.connected ? undefined : new Error('the broker is not connected'));
  }

  get available(): boolean {
    return this.shared.connected;
  }

  restore(subscriptions: ReadonlyMap<string, SessionQoS>, done?: () => void): void {
    let waiting = subscriptions.size + 1;
    const one = (): void => {
      if (--waiting === 0) done?.();
    };
    for (const [filter, qos] of subscriptions) this.shared.subscribe(filter, qos, this, one);
    one();
  }

  publish(message: DownstreamMessage, done: (error?: Error) => void): void {
    this.shared.publish(message, done);
  }

  subscribe(filter: string, qos: SessionQoS, done: (granted: number) => void): void {
    if (this.closed) return done(128);
    this.shared.subscribe(filter, qos, this, done);
  }

  unsubscribe(filter: string, done: () => void): void {
    this.shared.unsubscribe(filter, this, done);
  }

  setWill(will: Will | undefined, done: (error?: Error) => void): void {
    this.will = will;
    done();
  }

  close(publishWill: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.shared.release(this);
    if (publishWill && this.will) {
      const { topic, payload, qos, retain } = this.will;
      this.shared.publish({ topic, payload, qos, retain }, () => undefined);
    }
  }
}
