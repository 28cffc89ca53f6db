/**
 * How a session ends: closed (every outstanding call rejected) or lost (calls
 * kept for a failover, the layer above decides).
 */
import type { MqttSnError } from '../../errors';
import type { SessionCore } from './core';
import { KEEPALIVE_TIMER, SLEEP_TIMER } from './operation';

/** Ends the session: every outstanding op is rejected with `reason`, then `disconnected` fires (statusCode -1: silently). */
export function finishDisconnected(core: SessionCore, reason: MqttSnError, statusCode: number, description: string): void {
  const wasConnected = core.connected || core.state === 'disconnecting';
  for (const op of core.ops.all()) {
    core.endOpQuietly(op);
    if (op.kind === 'disconnect') continue;
    if (op.kind === 'connect') core.sink.emit('connected', { statusCode: reason.code, description: reason.description });
    op.reject(reason);
  }
  for (const window of core.windows()) window.clear();
  stopSessionTimers(core);
  core.setState('disconnected');
  if (wasConnected && statusCode >= 0) core.sink.emit('disconnected', { statusCode, description });
}

/** Everything in flight is suspended; the layer above fails over or abandons. */
export function loseGateway(core: SessionCore, reason: MqttSnError): void {
  for (const op of core.ops.all()) {
    core.endOpQuietly(op);
    if (op.kind === 'ping' || op.kind === 'sleep' || op.kind === 'retrieve' || op.kind === 'wake' || op.internal) {
      op.reject(reason);
    } else {
      core.suspended.push(op);
    }
  }
  for (const window of core.windows()) for (const op of window.clear()) if (!core.suspended.includes(op)) core.suspended.push(op);
  core.suspended.sort((a, b) => a.timerId - b.timerId);
  stopSessionTimers(core);
  core.setState('disconnected');
  core.sink.emit('disconnected', { statusCode: reason.code, description: reason.description });
  if (!core.sink.gatewayLost(reason)) abandon(core, reason);
}

/** Rejects everything kept across a lost gateway. */
export function abandon(core: SessionCore, reason: MqttSnError): void {
  const kept = core.suspended;
  core.suspended = [];
  for (const op of kept) op.reject(reason);
}

export function stopSessionTimers(core: SessionCore): void {
  core.timers.cancel(KEEPALIVE_TIMER);
  core.timers.cancel(SLEEP_TIMER);
}
