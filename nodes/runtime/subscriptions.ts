/**
 * Which node hears which subscription: the listeners of every node on one
 * connection, the subscriptions they add up to on the gateway, and the
 * fan-out of each message to the nodes whose subscriptions match it.
 */
import { ErrorCode, MqttSnError, topicMatches, type MessageInfo, type MqttSnClient, type TopicIdTypeValue } from '../../lib';
import { isValidTopicId, type PredefinedTopics, type TopicKind } from './topics';

export type SessionQoS = 0 | 1 | 2;

export interface SubscriptionSpec {
  /** Topic name or filter; a short name; or a pre-defined id (digits) or its name. */
  topic: string;
  kind: TopicKind;
  qos: SessionQoS;
}

export interface InboundMessage {
  /** The topic name; the id as text when unknown. */
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
  /** One listener per subscribing node. */
  listeners: Map<string, MessageListener>;
  /** Made on the gateway in this session (the client restores it after a reconnect). */
  made: boolean;
}

/** The pre-defined id named by `topic`: its digits, or its name in the map. */
export function predefinedId(predefined: PredefinedTopics, topic: string): number {
  const id = /^\d+$/.test(topic) ? Number(topic) : predefined.idOf(topic);
  if (id === undefined || !isValidTopicId(id)) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `"${topic}" is neither a pre-defined topic id nor a name in the pre-defined topics.`);
  }
  return id;
}

const key = (kind: TopicKind, topic: string): string => `${kind}:${topic}`;

export class NodeSubscriptions {
  private readonly subscriptions = new Map<string, Subscription>();
  /** Subscribes and unsubscribes under way: a publish waits for them (a flow that subscribes and then publishes hears itself). */
  private readonly settling = new Set<Promise<unknown>>();

  constructor(
    private readonly client: MqttSnClient,
    private readonly predefined: PredefinedTopics,
    private readonly warn: (message: string) => void,
  ) {}

  /** Adds `ref`'s listener to a subscription, subscribing on the gateway when it is new. */
  async add(ref: string, spec: SubscriptionSpec, listener: MessageListener): Promise<void> {
    if (spec.kind === 'predefined') predefinedId(this.predefined, spec.topic);
    const existing = this.subscriptions.get(key(spec.kind, spec.topic));
    const sub = existing ?? { ...spec, listeners: new Map<string, MessageListener>(), made: false };
    const isNew = !existing || existing.qos !== spec.qos;
    sub.qos = spec.qos;
    sub.listeners.set(ref, listener);
    this.subscriptions.set(key(spec.kind, spec.topic), sub);
    if (isNew && this.client.connected) await this.subscribeOnGateway(sub);
  }

  /** Removes `ref`'s listener; the last one gone unsubscribes on the gateway when `onGateway`. */
  async remove(ref: string, spec: Pick<SubscriptionSpec, 'topic' | 'kind'>, onGateway: boolean): Promise<void> {
    const sub = this.subscriptions.get(key(spec.kind, spec.topic));
    if (!sub || !sub.listeners.delete(ref) || sub.listeners.size > 0) return;
    this.subscriptions.delete(key(spec.kind, spec.topic));
    if (onGateway && this.client.connected) await this.settle(this.client.unsubscribe(sub.topic, { topicType: sub.kind }));
  }

  /** A session is up: a new one knows none of the subscriptions, a restored one lacks those added meanwhile. */
  onConnect(reconnected: boolean): void {
    for (const sub of this.subscriptions.values()) {
      if (!reconnected) sub.made = false;
      if (!sub.made) this.subscribeOnGateway(sub).catch(() => undefined);
    }
  }

  /** Resolves once the subscribes and unsubscribes asked for so far have settled. */
  async settled(): Promise<void> {
    if (this.settling.size > 0) await Promise.allSettled([...this.settling]);
  }

  /** The subscriptions one node holds. */
  of(ref: string): SubscriptionSpec[] {
    return [...this.subscriptions.values()].filter((sub) => sub.listeners.has(ref)).map(({ topic, kind, qos }) => ({ topic, kind, qos }));
  }

  /** Hands a message to each node with a matching subscription, once; false when none matched. */
  dispatch(topic: string, payload: Buffer, info: MessageInfo): boolean {
    const message: InboundMessage = {
      topic,
      payload,
      qos: info.qos,
      retain: info.retain,
      duplicate: info.dup,
      topicId: info.topicId,
      topicIdType: info.topicIdType,
    };
    const delivered = new Set<string>();
    for (const sub of this.subscriptions.values()) {
      if (!this.matches(sub, topic, info)) continue;
      for (const [ref, listener] of sub.listeners) {
        if (!delivered.has(ref)) listener(message);
        delivered.add(ref);
      }
    }
    return delivered.size > 0;
  }

  private matches(sub: Subscription, topic: string, info: MessageInfo): boolean {
    if (sub.kind === 'normal') return topicMatches(sub.topic, topic);
    if (sub.kind === 'short') return topic === sub.topic;
    const id = predefinedId(this.predefined, sub.topic);
    return (info.topicIdType === 1 && info.topicId === id) || topic === this.predefined.nameOf(id);
  }

  private subscribeOnGateway(sub: Subscription): Promise<void> {
    return this.settle(this.client.subscribe(sub.topic, { qos: sub.qos, topicType: sub.kind })).then(
      () => {
        sub.made = true;
      },
      (err: Error) => {
        this.warn(`subscribe ${sub.topic} failed: ${err.message}`);
        throw err;
      },
    );
  }

  private settle<T>(call: Promise<T>): Promise<T> {
    const settled = call.catch(() => undefined);
    this.settling.add(settled);
    void settled.then(() => this.settling.delete(settled));
    return call;
  }
}
