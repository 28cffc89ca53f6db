/**
 * Node-RED nodes for MQTT-SN: the `mqtt-sn-broker` config node (one gateway
 * connection), `mqtt-sn in`, `mqtt-sn out`, `mqtt-sn register`,
 * `mqtt-sn sleep`, and `mqtt-sn gateway` to host a gateway in a flow.
 */
import { registerBrokerNode } from './runtime/broker-node';
import { registerGatewayNode } from './runtime/gateway-node';
import { registerInNode } from './runtime/in-node';
import { registerOutNode } from './runtime/out-node';
import type { NodeAPI } from './runtime/red';
import { registerRegisterNode } from './runtime/register-node';
import { registerSleepNode } from './runtime/sleep-node';

export = function (RED: NodeAPI): void {
  registerBrokerNode(RED);
  registerInNode(RED);
  registerOutNode(RED);
  registerRegisterNode(RED);
  registerSleepNode(RED);
  registerGatewayNode(RED);
};
