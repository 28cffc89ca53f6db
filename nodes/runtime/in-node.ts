/**
 * `mqtt-sn in`: subscribes by topic name or filter, short name or pre-defined
 * id, and sends what arrives. With an input ("dynamic"), msg.action
 * subscribe / unsubscribe / getSubscriptions manages the subscriptions.
 */
import { joinConnection, type UserNode } from './broker-node';
import type { InboundMessage, SessionQoS, SubscriptionSpec } from './connection';
import { handleLinkAction, isLinkAction } from './link-actions';
import { fromWire, parseFormat, type PayloadFormat } from './payload';
import type { NodeAPI, NodeDef, NodeMessage } from './red';
import { coded, fail, failureStatus, failureText } from './report';
import { isValidTopicFilter } from '../../lib';
import { isValidShortTopic, parseKind, type TopicKind } from './topics';

export interface InDef extends NodeDef {
  broker: string;
  topic: string;
  topicType: string;
  qos: number | string;
  datatype: string;
  inputs: number | string;
}

const Actions = { SUBSCRIBE: 'subscribe', UNSUBSCRIBE: 'unsubscribe', GETSUBS: 'getSubscriptions' } as const;

function parseQos(value: unknown, fallback: SessionQoS): SessionQoS {
  const n = typeof value === 'number' ? value : Number(value ?? NaN);
  return n === 0 || n === 1 || n === 2 ? n : fallback;
}

/** Whether `topic` names a subscription of `kind` (a pre-defined topic is checked by the connection). */
function isValidSubscription(topic: string, kind: TopicKind): boolean {
  if (kind === 'short') return isValidShortTopic(topic);
  if (kind === 'predefined') return topic.length > 0;
  return isValidTopicFilter(topic);
}

interface DynamicSubscription extends SubscriptionSpec {
  datatype: PayloadFormat;
}

export function registerInNode(RED: NodeAPI): void {
  function MqttSnInNode(this: UserNode, def: InDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: UserNode, def: InDef): void {
    // On close a removed node unsubscribes; a restarting one keeps a persistent session's subscriptions on the gateway.
    const conn = joinConnection(RED, node, def.broker, (c, removed) =>
      Promise.all(c.subscriptionsOf(node.id).map((sub) => c.unsubscribe(node.id, sub, removed))),
    );
    if (!conn) return;
    const isDynamic = Number(def.inputs) === 1;
    const datatype = parseFormat(def.datatype) ?? 'auto';
    const dynamicSubs = new Map<string, DynamicSubscription>();

    const listener = (format: PayloadFormat) => (message: InboundMessage) => {
      const msg: NodeMessage = {
        topic: message.topic,
        payload: null,
        qos: message.qos,
        retain: message.retain,
        topicId: message.topicId,
        topicIdType: message.topicIdType,
      };
      try {
        msg.payload = fromWire(message.payload, format);
      } catch {
        // As the core node: the text (or the bytes, when not text) goes with the error.
        msg.payload = fromWire(message.payload, 'auto');
        node.error(coded(RED._('mqtt-sn.errors.invalid-json-parse')), msg);
        return;
      }
      node.send(msg);
    };

    const failed = (err: Error) => {
      node.status(failureStatus(err));
      node.error(coded(failureText('subscribe', err), err));
    };

    if (!isDynamic) {
      const kind = parseKind(def.topicType) ?? 'normal';
      const topic = (def.topic ?? '').trim();
      if (!isValidSubscription(topic, kind)) {
        node.error(coded(RED._('mqtt-sn.errors.invalid-topic')));
      } else {
        const spec = { topic, kind, qos: parseQos(def.qos, 1) };
        conn.subscribe(node.id, spec, listener(datatype)).catch(failed);
      }
    }

    node.on('input', (msg, send, done) => {
      if (!isDynamic) {
        done();
        return;
      }
      const action = msg.action;
      if (isLinkAction(action)) {
        handleLinkAction(RED, conn, msg, done);
        return;
      }
      if (action === Actions.GETSUBS) {
        msg.topic = 'subscriptions';
        msg.payload = [...dynamicSubs.values()].map(toPublic);
        send(msg);
        done();
        return;
      }
      if (action !== Actions.SUBSCRIBE && action !== Actions.UNSUBSCRIBE) {
        done(coded(RED._('mqtt-sn.errors.invalid-action-action')));
        return;
      }
      let wanted: unknown[];
      if (action === Actions.UNSUBSCRIBE && msg.topic === true) wanted = [...dynamicSubs.values()];
      else if (Array.isArray(msg.topic)) wanted = msg.topic;
      else if (typeof msg.topic === 'string' || (typeof msg.topic === 'object' && msg.topic !== null)) wanted = [msg.topic];
      else {
        done(coded(RED._('mqtt-sn.errors.invalid-action-badsubscription')));
        return;
      }
      const specs: DynamicSubscription[] = [];
      for (const item of wanted) {
        const spec = toSpec(item, datatype);
        if (!spec) {
          done(coded(RED._('mqtt-sn.errors.invalid-topic')));
          return;
        }
        specs.push(spec);
      }
      const work = specs.map(async (spec) => {
        const key = `${spec.kind}:${spec.topic}`;
        const existing = dynamicSubs.get(key);
        if (existing) {
          dynamicSubs.delete(key);
          await conn.unsubscribe(node.id, existing);
        }
        if (action === Actions.SUBSCRIBE) {
          dynamicSubs.set(key, spec);
          await conn.subscribe(node.id, spec, listener(spec.datatype));
        }
      });
      Promise.all(work).then(
        () => {
          msg.subscriptions = [...dynamicSubs.values()].map(toPublic);
          done();
        },
        (err: Error) => fail(done, action, err),
      );
    });
  }
  RED.nodes.registerType('mqtt-sn in', MqttSnInNode);
}

/** A dynamic subscription from msg.topic: a string, or {topic, qos, topicType|topicIdType, datatype}. */
function toSpec(item: unknown, datatype: PayloadFormat): DynamicSubscription | undefined {
  const obj = typeof item === 'string' ? { topic: item } : (item as Record<string, unknown>);
  if (typeof obj !== 'object' || obj === null) return undefined;
  const topic = typeof obj.topic === 'number' ? String(obj.topic) : obj.topic;
  if (typeof topic !== 'string') return undefined;
  const kind = parseKind(obj.topicType ?? obj.topicIdType ?? obj.kind) ?? 'normal';
  if (!isValidSubscription(topic, kind)) return undefined;
  return { topic, kind, qos: parseQos(obj.qos, 1), datatype: parseFormat(obj.datatype) ?? datatype };
}

function toPublic(sub: DynamicSubscription): Record<string, unknown> {
  return { topic: sub.topic, topicType: sub.kind, qos: sub.qos, datatype: sub.datatype };
}
