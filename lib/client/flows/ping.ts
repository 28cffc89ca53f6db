/**
 * Keep-alive: PINGREQ after keepAliveInterval with nothing sent, PINGRESP
 * settles every ping waiting; the gateway's PINGREQ is answered.
 *
 * At most one PINGREQ is outstanding. It belongs to an internal "carrier"
 * operation that alone retransmits it (every min(PingTimeout, RetryInterval))
 * and, after RetryCount retransmissions, declares the gateway lost. A user
 * ping() waits on that PINGREQ with only its own timeout, so neither user
 * pings nor the keep-alive timer ever multiply the PINGREQs on the wire.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import type { Reject, Resolve, SessionCore } from './core';
import { KEEPALIVE_TIMER, type Operation } from './operation';
import { onRetrieveDone } from './sleep';

export function ping(core: SessionCore, resolve: Resolve, reject: Reject): void {
  if (!core.requireActive(reject)) return;
  let failure: MqttSnError | undefined;
  if (!outstandingPing(core)) startCarrier(core, (error) => (failure = error));
  if (failure) {
    reject(failure);
    return;
  }
  // The caller's wait: no packet of its own, only a timer at its deadline.
  const waiter = core.newOp('ping', resolve, reject);
  waiter.lastError = new MqttSnError(ErrorCode.TIMEOUT, 'No PINGRESP from the gateway within the timeout.');
  if (Number.isFinite(waiter.deadline)) core.timers.schedule(waiter.timerId, waiter.deadline);
}

/** The PINGREQ in flight, if any (waiters have no packet, so find() skips them). */
function outstandingPing(core: SessionCore): Operation | undefined {
  return core.ops.find('ping');
}

/** Sends the one PINGREQ; `onSendFailure` hears an encoding or socket error. */
function startCarrier(core: SessionCore, onSendFailure: Reject): void {
  const carrier = core.newOp('ping', () => undefined, onSendFailure, 0);
  carrier.internal = true;
  core.start(carrier, { type: 'PINGREQ' });
}

export function onPingreq(core: SessionCore): void {
  core.trySend({ type: 'PINGRESP' });
}

export function onPingresp(core: SessionCore): void {
  if (onRetrieveDone(core)) return;
  for (const op of core.ops.all()) {
    if (op.kind !== 'ping') continue;
    core.endOp(op);
    op.resolve(undefined);
  }
}

export function armKeepAlive(core: SessionCore): void {
  const keepAlive = core.params?.keepAlive ?? 0;
  if (keepAlive > 0) core.timers.schedule(KEEPALIVE_TIMER, core.lastSentAt + keepAlive * 1000);
}

export function onKeepAliveTimer(core: SessionCore, now: number): void {
  const keepAlive = core.params?.keepAlive ?? 0;
  if (core.state !== 'active' || keepAlive <= 0) return;
  const due = core.lastSentAt + keepAlive * 1000;
  if (due > now) {
    core.timers.schedule(KEEPALIVE_TIMER, due);
    return;
  }
  // A PINGREQ already outstanding is the keep-alive: its retransmissions and
  // their N_retry limit decide whether the gateway is lost.
  if (!outstandingPing(core)) startCarrier(core, (error) => core.emitError(error.code, error.description));
  core.timers.schedule(KEEPALIVE_TIMER, now + keepAlive * 1000);
}
