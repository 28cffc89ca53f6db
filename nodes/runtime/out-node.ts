/**
 * `mqtt-sn out`: publishes msg.payload to the node's topic or msg.topic.
 * done() follows the gateway's acknowledgement; done(err) reaches a Catch
 * node when the gateway rejects the message or does not answer.
 */
import { joinConnection, parseFlag, type UserNode } from './broker-node';
import type { GatewayConnection } from './connection';
import { handleLinkAction, isLinkAction } from './link-actions';
import { toWire } from './payload';
import type { NodeAPI, NodeDef, NodeMessage } from './red';
import { coded, fail, failureStatus } from './report';
import { statusOf } from './status';
import { isValidPublishTopic, isValidShortTopic, parseKind, type TopicKind } from './topics';

export interface OutDef extends NodeDef {
  broker: string;
  topic: string;
  topicType: string;
  qos: number | string;
  retain: boolean | string;
}

type PublishQoS = -1 | 0 | 1 | 2;

function parseQos(value: unknown): PublishQoS | undefined {
  if (value === '' || value === null || value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  return n === -1 || n === 0 || n === 1 || n === 2 ? n : undefined;
}

/** Checks the form of a topic before anything is sent. */
function isValidTopic(conn: GatewayConnection, topic: string, kind: TopicKind): boolean {
  if (kind === 'short') return isValidShortTopic(topic);
  if (kind === 'predefined') {
    try {
      conn.predefinedId(topic);
      return true;
    } catch {
      return false;
    }
  }
  return isValidPublishTopic(topic);
}

export function registerOutNode(RED: NodeAPI): void {
  function MqttSnOutNode(this: UserNode, def: OutDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: UserNode, def: OutDef): void {
    const conn = joinConnection(RED, node, def.broker);
    if (!conn) return;
    const nodeTopic = (def.topic ?? '').trim();
    const nodeKind = parseKind(def.topicType) ?? 'normal';
    const nodeQos = parseQos(def.qos);
    const nodeRetain = parseFlag(def.retain);
    let showingError = false;

    node.on('input', (msg: NodeMessage, _send, done) => {
      // As the core out node: a message with an action controls the connection and publishes nothing.
      if (msg.action !== undefined && msg.action !== null && msg.action !== '') {
        if (isLinkAction(msg.action)) handleLinkAction(RED, conn, msg, done);
        else done(coded(RED._('mqtt-sn.errors.invalid-action-action')));
        return;
      }
      if (!Object.prototype.hasOwnProperty.call(msg, 'payload')) {
        done();
        return;
      }
      // As in the core node: what the node sets wins over the message.
      const rawTopic = nodeTopic || (typeof msg.topic === 'number' ? String(msg.topic) : msg.topic);
      // msg.topic is read as msg.topicIdType says, else as the node's topic type.
      const kind = nodeTopic ? nodeKind : (parseKind(msg.topicIdType ?? msg.topicType) ?? nodeKind);
      const qos = nodeQos ?? parseQos(msg.qos) ?? 0;
      const retain = nodeRetain ?? parseFlag(msg.retain) ?? false;
      if (typeof rawTopic !== 'string' || !isValidTopic(conn, rawTopic, kind)) {
        done(coded(RED._('mqtt-sn.errors.invalid-topic')));
        return;
      }
      conn.publish(rawTopic, kind, qos, retain, toWire(msg.payload)).then(
        () => {
          if (showingError) {
            showingError = false;
            node.status(statusOf(conn.linkState));
          }
          done();
        },
        (err: Error) => {
          showingError = true;
          node.status(failureStatus(err));
          fail(done, 'publish', err);
        },
      );
    });
  }
  RED.nodes.registerType('mqtt-sn out', MqttSnOutNode);
}
