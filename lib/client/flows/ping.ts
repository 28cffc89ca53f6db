/**
 * Keep-alive: PINGREQ after half the keep-alive with nothing sent, PINGRESP
 * settles every ping waiting; the gateway's PINGREQ is answered.
 *
 * At most one PINGREQ is outstanding. It belongs to an internal "carrier"
 * operation that alone retransmits it. A carrier the keep-alive timer started
 * runs on the keep-alive schedule (lib/keep-alive.ts): retransmitted often
 * enough to fit into the gateway's tolerance, the gateway lost only after its
 * RetryCount retransmissions and twice that tolerance without a word from the
 * gateway. One a user ping() started retransmits every min(PingTimeout,
 * RetryInterval) and declares the gateway lost after RetryCount retransmissions.
 * A user ping() waits on the PINGREQ outstanding with only its own timeout, so
 * neither user pings nor the keep-alive timer ever multiply the PINGREQs on the wire.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import { pingSchedule, type PingSchedule } from '../../keep-alive';
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
function startCarrier(core: SessionCore, onSendFailure: Reject, retryMs?: number): Operation {
  const carrier = core.newOp('ping', () => undefined, onSendFailure, 0);
  carrier.internal = true;
  if (retryMs !== undefined) carrier.interval = retryMs;
  core.start(carrier, { type: 'PINGREQ' });
  return carrier;
}

/** The keep-alive schedule of the session, or undefined without keep-alive. */
function schedule(core: SessionCore): PingSchedule | undefined {
  const keepAlive = core.params?.keepAlive ?? 0;
  if (keepAlive <= 0) return undefined;
  return pingSchedule(keepAlive, core.settings.pingTimeout, core.settings.retryInterval);
}

/**
 * Whether the keep-alive carrier `op` goes on although its retransmissions ran out: the
 * gateway was heard from less than the schedule's silence ago.
 */
export function keepAliveGoesOn(core: SessionCore, op: Operation, now: number): boolean {
  const times = op === core.keepAliveCarrier ? schedule(core) : undefined;
  return times !== undefined && now - core.lastHeardAt < times.gatewayLostMs;
}

export function onPingreq(core: SessionCore): void {
  core.trySend({ type: 'PINGRESP' });
}

export function onPingresp(core: SessionCore): void {
  if (onRetrieveDone(core)) return;
  core.keepAliveCarrier = undefined;
  for (const op of core.ops.all()) {
    if (op.kind !== 'ping') continue;
    core.endOp(op);
    op.resolve(undefined);
  }
}

export function armKeepAlive(core: SessionCore): void {
  const times = schedule(core);
  if (times) core.timers.schedule(KEEPALIVE_TIMER, core.lastSentAt + times.firstPingMs);
}

export function onKeepAliveTimer(core: SessionCore, now: number): void {
  const times = schedule(core);
  if (core.state !== 'active' || !times) return;
  const due = core.lastSentAt + times.firstPingMs;
  if (due > now) {
    core.timers.schedule(KEEPALIVE_TIMER, due);
    return;
  }
  // A PINGREQ already outstanding is the keep-alive: its retransmissions decide whether the gateway is lost.
  if (!outstandingPing(core)) {
    core.keepAliveCarrier = startCarrier(core, (error) => core.emitError(error.code, error.description), times.retryMs);
  }
  core.timers.schedule(KEEPALIVE_TIMER, now + times.firstPingMs);
}
