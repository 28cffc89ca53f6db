/**
 * `mqtt-sn gateway`: hosts an MQTT-SN gateway inside the flow, in front of
 * an MQTT broker (or of its own embedded broker).
 */
import { MqttSnGateway } from '../../lib';
import { bounded } from './broker-node';
import type { Node, NodeAPI, NodeDef } from './red';
import { statusOf } from './status';
import { PredefinedTopics } from './topics';

export interface GatewayDef extends NodeDef {
  host: string;
  port: number | string;
  broker: string;
  mode: string;
  predefined: string;
}

export function registerGatewayNode(RED: NodeAPI): void {
  function MqttSnGatewayNode(this: Node, def: GatewayDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: GatewayDef): void {
    const fail = (err: Error) => {
      node.status(statusOf('error'));
      node.error(RED._('mqtt-sn.errors.gateway-failed', { error: err.message }));
    };
    let gateway: MqttSnGateway;
    try {
      const port = Number(def.port);
      gateway = new MqttSnGateway({
        host: (def.host ?? '').trim() || '127.0.0.1',
        port: Number.isInteger(port) ? port : 1884,
        broker: (def.broker ?? '').trim() || undefined,
        mode: def.mode === 'aggregating' ? 'aggregating' : 'transparent',
        predefined: PredefinedTopics.parse(def.predefined).toObject(),
      });
    } catch (err) {
      fail(err as Error);
      return;
    }
    node.status(statusOf('connecting', 'mqtt-sn.status.starting'));
    const started = gateway.start().then(() => {
      const { address, port } = gateway.address();
      node.status(statusOf('connected', `${address}:${port}`));
      node.log(RED._('mqtt-sn.state.gateway-listening', { address: `${address}:${port}` }));
    }, fail);

    node.on('close', (_removed, done) => {
      // A gateway still starting is stopped once it has started (or failed to).
      void bounded(started.then(() => gateway.stop())).then(() => {
        node.status({});
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-sn gateway', MqttSnGatewayNode);
}
