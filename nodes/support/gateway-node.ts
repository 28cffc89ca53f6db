/**
 * `mqtt-sn gateway`: hosts an MQTT-SN gateway inside the flow, in front of
 * an MQTT broker (or of its own embedded broker).
 */
import { MqttSnGateway } from '../../lib';
import { bounded } from './broker-node';
import type { Node, NodeAPI, NodeDef } from './red';
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
    let gateway: MqttSnGateway | undefined;
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
      node.status({ fill: 'red', shape: 'dot', text: 'node-red:common.status.error' });
      node.error(RED._('mqtt-sn.errors.gateway-failed', { error: (err as Error).message }));
    }
    const started = gateway
      ? gateway.start().then(
          () => {
            const address = gateway?.address();
            node.status({ fill: 'green', shape: 'dot', text: address ? `${address.address}:${address.port}` : 'mqtt-sn.status.listening' });
            node.log(RED._('mqtt-sn.state.gateway-listening', { address: address ? `${address.address}:${address.port}` : '' }));
          },
          (err: Error) => {
            node.status({ fill: 'red', shape: 'dot', text: 'node-red:common.status.error' });
            node.error(RED._('mqtt-sn.errors.gateway-failed', { error: err.message }));
          },
        )
      : Promise.resolve();
    if (gateway) node.status({ fill: 'yellow', shape: 'ring', text: 'mqtt-sn.status.starting' });

    node.on('close', (_removed, done) => {
      const stop = started.then(() => gateway?.stop());
      void bounded(stop).then(() => {
        node.status({});
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-sn gateway', MqttSnGatewayNode);
}
