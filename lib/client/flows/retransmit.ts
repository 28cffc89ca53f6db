/**
 * An operation's timer: retransmit after T_retry (DUP on PUBLISH and
 * SUBSCRIBE), resume after a congestion pause, give up at the caller's
 * (inactivity) deadline, and declare the gateway lost after N_retry retransmissions.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import type { SessionCore } from './core';
import type { Operation } from './operation';
import { finishDisconnected, loseGateway } from './session-end';
import { keepAliveGoesOn } from './ping';
import { armSleepTimer } from './sleep';

export function onOperationTimer(core: SessionCore, op: Operation, now: number): void {
  if (now >= op.deadline) {
    core.endOp(op);
    timeoutOp(core, op);
    return;
  }
  if (op.lastError && op.lastError.code === ErrorCode.REJECTED_CONGESTION && op.attempts === 0 && op.packet) {
    // The congestion pause is over: try again as a fresh send. A gateway refusing
    // for congestion again and again makes no progress: the deadline stays.
    op.lastError = undefined;
    op.attempts = 0;
    core.resend(op, op.packet, false);
    return;
  }
  if (op.attempts >= core.settings.retryCount && !keepAliveGoesOn(core, op, now)) {
    retriesExhausted(core, op);
    return;
  }
  op.attempts++;
  const packet = op.packet as NonNullable<Operation['packet']>;
  const again = packet.type === 'PUBLISH' || packet.type === 'SUBSCRIBE' ? { ...packet, dup: true } : packet;
  core.sink.log(2, 'Packet', `No answer to ${packet.type}: retransmission ${op.attempts} of ${core.settings.retryCount}.`);
  // Repeating a packet nobody answered is no activity: the caller's deadline stays.
  core.resend(op, again, false);
}

function timeoutOp(core: SessionCore, op: Operation): void {
  const error = op.lastError ?? new MqttSnError(ErrorCode.TIMEOUT, `Timed out waiting for the gateway to acknowledge ${op.packet?.type ?? op.kind}.`);
  if (op.kind === 'connect') {
    core.setState('disconnected');
    core.sink.emit('connected', { statusCode: error.code, description: error.description });
  } else if (op.kind === 'retrieve') {
    core.setState('asleep');
    armSleepTimer(core);
  } else if (op.kind === 'disconnect') {
    finishDisconnected(core, new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
    op.resolve(undefined);
    return;
  }
  op.reject(error);
}

function retriesExhausted(core: SessionCore, op: Operation): void {
  if (op.kind !== 'connect' && op.kind !== 'wake' && op.kind !== 'disconnect' && op.kind !== 'retrieve') {
    gatewayLostAfter(core, op);
    return;
  }
  core.endOp(op);
  switch (op.kind) {
    case 'connect':
    case 'wake': {
      const error = new MqttSnError(ErrorCode.TIMEOUT, `No answer to CONNECT after ${core.settings.retryCount} retransmissions.`);
      if (op.kind === 'connect') {
        core.setState('disconnected');
        core.sink.emit('connected', { statusCode: error.code, description: error.description });
      }
      op.reject(error);
      return;
    }
    case 'disconnect':
      finishDisconnected(core, new MqttSnError(ErrorCode.ABORTED, 'Disconnected before the gateway acknowledged.'), 0, 'OK');
      op.resolve(undefined);
      return;
    case 'retrieve':
      // Do not drain the battery on a silent gateway: back to sleep.
      core.setState('asleep');
      armSleepTimer(core);
      op.reject(new MqttSnError(ErrorCode.TIMEOUT, 'No PINGRESP while retrieving messages; back to sleep.'));
  }
}

/** N_retry retransmissions unanswered: the gateway is lost (MQTT-SN §6.13). */
function gatewayLostAfter(core: SessionCore, op: Operation): void {
  // The ops waiting behind this one must not go out to a gateway just found lost:
  // they stay unsent in the window, where loseGateway() collects them.
  core.endOpQuietly(op);
  op.window?.release(op);
  const reason = new MqttSnError(
    ErrorCode.GATEWAY_LOST,
    `The gateway is lost: no answer to ${op.packet?.type ?? op.kind} after ${core.settings.retryCount} retransmissions.`,
  );
  if (op.kind === 'ping' || op.internal) op.reject(reason);
  else core.suspended.push(op);
  loseGateway(core, reason);
}
