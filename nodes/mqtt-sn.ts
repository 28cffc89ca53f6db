/**
 * Node-RED nodes for MQTT-SN: the `mqtt-sn-broker` config node (one gateway
 * connection), `mqtt-sn in`, `mqtt-sn out`, `mqtt-sn register`,
 * `mqtt-sn sleep`, and `mqtt-sn gateway` to host a gateway in a flow.
 */
import { registerBrokerNode } from './support/broker-node';
import { registerGatewayNode } from './support/gateway-node';
import { registerInNode } from './support/in-node';
import { registerOutNode } from './support/out-node';
import type { NodeAPI } from './support/red';
import { registerRegisterNode } from './support/register-node';
import { registerSleepNode } from './support/sleep-node';

export = function (RED: NodeAPI): void {
  registerBrokerNode(RED);
  registerInNode(RED);
  registerOutNode(RED);
  registerRegisterNode(RED);
  registerSleepNode(RED);
  registerGatewayNode(RED);
};
