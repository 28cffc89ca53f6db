/**
 * DISCONNECT both ways: the client's (acknowledged by the gateway's
 * DISCONNECT) and one the gateway sends on its own.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import type { Reject, Resolve, SessionCore } from './core';
import { abandon, finishDisconnected, loseGateway, stopSessionTimers } from './session-end';
import { onSleepAcknowledged } from './sleep';

export function disconnect(core: SessionCore, resolve: Resolve, reject: Reject): void {
  if (core.state === 'connecting') {
    finishDisconnected(core, new MqttSnError(ErrorCode.ABORTED, 'Connection attempt cancelled by disconnect().'), 0, 'OK');
    resolve();
    return;
  }
  if (!core.connected) {
    if (core.state === 'disconnecting') {
      reject(new MqttSnError(ErrorCode.WRONG_STATE, 'A disconnect is already in progress.'));
      return;
    }
    abandon(core, new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'));
    resolve();
    return;
  }
  const op = core.newOp('disconnect', resolve, reject);
  core.setState('disconnecting');
  stopSessionTimers(core);
  core.start(op, { type: 'DISCONNECT' });
}

export function onDisconnect(core: SessionCore): void {
  if (onSleepAcknowledged(core)) return;
  const disconnect = core.ops.find('disconnect');
  if (disconnect) {
    core.endOp(disconnect);
    finishDisconnected(core, new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
    disconnect.resolve(undefined);
    return;
  }
  if (core.state === 'disconnected') return;
  const reason = new MqttSnError(ErrorCode.NOT_CONNECTED, 'The gateway closed the connection.');
  // With a session, the layer above may reconnect (a restarted gateway answers with DISCONNECT) and keep the calls.
  if (core.connected) loseGateway(core, reason);
  else finishDisconnected(core, reason, reason.code, reason.description);
}
