/** `mqtt-sn register`: msg.topic (a name) in, msg.topicId from the gateway out. */
import { TopicIdType } from '../../lib';
import { joinConnection, type UserNode } from './broker-node';
import type { NodeAPI, NodeDef } from './red';
import { coded, fail } from './report';
import { isValidPublishTopic } from './topics';

export interface RegisterDef extends NodeDef {
  broker: string;
  topic: string;
}

export function registerRegisterNode(RED: NodeAPI): void {
  function MqttSnRegisterNode(this: UserNode, def: RegisterDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: UserNode, def: RegisterDef): void {
    const conn = joinConnection(RED, node, def.broker);
    if (!conn) return;
    const nodeTopic = (def.topic ?? '').trim();

    node.on('input', (msg, send, done) => {
      const topic = nodeTopic || msg.topic;
      if (typeof topic !== 'string' || !isValidPublishTopic(topic)) {
        done(coded(RED._('mqtt-sn.errors.invalid-topic')));
        return;
      }
      conn.registerTopic(topic).then(
        (topicId) => {
          msg.topic = topic;
          msg.topicId = topicId;
          msg.topicIdType = TopicIdType.NORMAL;
          send(msg);
          done();
        },
        (err: Error) => fail(done, 'register', err),
      );
    });
  }
  RED.nodes.registerType('mqtt-sn register', MqttSnRegisterNode);
}
