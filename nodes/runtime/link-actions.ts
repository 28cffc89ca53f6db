/**
 * msg.action 'connect' / 'disconnect', as the core MQTT in (dynamic) and out
 * nodes take them: control the config node's connection from a flow.
 */
import type { GatewayConnection } from './connection';
import type { DoneFunction, NodeAPI, NodeMessage } from './red';
import { coded, fail } from './report';

export const LinkActions = { CONNECT: 'connect', DISCONNECT: 'disconnect' } as const;

export function isLinkAction(action: unknown): action is 'connect' | 'disconnect' {
  return action === LinkActions.CONNECT || action === LinkActions.DISCONNECT;
}

/** done() once connected (or disconnected); done(err) when the connect fails. */
export function handleLinkAction(RED: NodeAPI, conn: GatewayConnection, msg: NodeMessage, done: DoneFunction): void {
  if (msg.action === LinkActions.DISCONNECT) {
    conn.disconnectByRequest().then(() => done(), (err: Error) => fail(done, 'disconnect', err));
    return;
  }
  // The gateway is the config node's: a message cannot point the connection elsewhere.
  if (msg.broker !== undefined && msg.broker !== null) {
    done(coded(RED._('mqtt-sn.errors.invalid-action-broker')));
    return;
  }
  conn.connectByRequest().then(() => done(), (err: Error) => fail(done, 'connect', err));
}
