/**
 * Node status in the editor, as the core MQTT nodes show it, plus MQTT-SN's
 * sleep states. Texts are message keys: the editor translates them.
 */
import type { NodeStatus } from './red';

export type LinkState = 'disconnected' | 'connecting' | 'connected' | 'asleep' | 'awake' | 'error';

const STATUS: Readonly<Record<LinkState, NodeStatus>> = {
  disconnected: { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' },
  connecting: { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' },
  connected: { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' },
  asleep: { fill: 'blue', shape: 'ring', text: 'mqtt-sn.status.asleep' },
  awake: { fill: 'blue', shape: 'dot', text: 'mqtt-sn.status.awake' },
  error: { fill: 'red', shape: 'dot', text: 'node-red:common.status.error' },
};

export function statusOf(state: LinkState, text?: string): NodeStatus {
  const status = STATUS[state];
  return text === undefined ? { ...status } : { ...status, text };
}
