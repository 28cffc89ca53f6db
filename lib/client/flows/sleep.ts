/**
 * Sleeping clients (MQTT-SN §6.14): DISCONNECT with a duration puts the
 * client to sleep, PINGREQ with the client id wakes it to collect what the
 * gateway buffered until PINGRESP, CONNECT brings it back to active.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import { toleranceMs } from '../../keep-alive';
import type { Reject, Resolve, SessionCore } from './core';
import { KEEPALIVE_TIMER, SLEEP_TIMER } from './operation';
import { finishDisconnected } from './session-end';

/** DISCONNECT with a duration: asleep once the gateway answers. Also changes the duration while asleep. */
export function sleep(core: SessionCore, duration: number, resolve: Resolve, reject: Reject): void {
  if (core.state !== 'active' && core.state !== 'asleep' && core.state !== 'awake') {
    reject(core.notConnected());
    return;
  }
  if (core.hasOp('sleep') || core.hasOp('retrieve') || core.hasOp('wake')) {
    reject(new MqttSnError(ErrorCode.WRONG_STATE, 'A sleep state change is already in progress.'));
    return;
  }
  if (core.state === 'active' && !settleBeforeSleep(core, reject)) return;
  const op = core.newOp('sleep', resolve, reject);
  core.sleepDuration = duration;
  core.start(op, { type: 'DISCONNECT', duration });
}

/**
 * A sleeping client cannot retransmit or receive acknowledgements, so it may
 * only go to sleep with nothing awaiting the gateway: a request in flight or
 * queued refuses the sleep (707) and is left to finish undisturbed. The
 * keep-alive's own PINGREQ is simply dropped: sleep replaces keep-alive.
 */
function settleBeforeSleep(core: SessionCore, reject: Reject): boolean {
  const ops = core.ops.all();
  const busy = ops.filter((op) => !(op.kind === 'ping' && op.internal));
  if (busy.length > 0) {
    const kinds = [...new Set(busy.map((op) => op.kind))].join(', ');
    reject(new MqttSnError(ErrorCode.WRONG_STATE, `startSleep() refused: ${busy.length} request(s) still awaiting the gateway (${kinds}); wait for them first.`));
    return false;
  }
  for (const op of ops) core.endOp(op);
  return true;
}

/** Asleep -> awake: PINGREQ with the client id; buffered messages arrive, PINGRESP sends the client back to sleep. */
export function retrieve(core: SessionCore, resolve: Resolve<number>, reject: Reject): void {
  if (core.state !== 'asleep' || core.hasOp('retrieve') || core.hasOp('wake')) {
    reject(new MqttSnError(ErrorCode.WRONG_STATE, 'retrieveMessages() needs the client asleep (call startSleep first).'));
    return;
  }
  const op = core.newOp('retrieve', resolve, reject);
  core.setState('awake');
  core.start(op, { type: 'PINGREQ', clientId: core.params?.clientId ?? '' });
}

/** Asleep/awake -> active: CONNECT keeping the session, then keep-alive again (the CONNACK is handled with connect's). */
export function wake(core: SessionCore, resolve: Resolve, reject: Reject): void {
  if ((core.state !== 'asleep' && core.state !== 'awake') || core.hasOp('wake') || !core.params) {
    reject(new MqttSnError(ErrorCode.WRONG_STATE, 'stopSleep() needs the client asleep.'));
    return;
  }
  const retrieve = core.ops.find('retrieve');
  if (retrieve) {
    // Waking up ends the collection: what is still buffered arrives in the active state.
    // Until the CONNACK the client counts as asleep again, so a wake-up that fails leaves
    // it where retrieveMessages() and the sleep supervision still work.
    core.endOp(retrieve);
    core.setState('asleep');
    armSleepTimer(core);
    retrieve.resolve(retrieve.delivered);
  }
  const op = core.newOp('wake', resolve, reject, core.settings.connectionTimeout);
  core.start(op, {
    type: 'CONNECT',
    will: false,
    cleanSession: false,
    duration: core.params.keepAlive,
    clientId: core.params.clientId,
  });
}

/** The DISCONNECT that answers a sleep request; false when none is pending. */
export function onSleepAcknowledged(core: SessionCore): boolean {
  const op = core.ops.find('sleep');
  if (!op) return false;
  core.endOp(op);
  core.setState('asleep');
  core.timers.cancel(KEEPALIVE_TIMER);
  armSleepTimer(core);
  core.sink.log(1, 'Session', `Asleep for ${core.sleepDuration} s.`);
  op.resolve(undefined);
  return true;
}

/** The PINGRESP that ends a retrieve: back to sleep. False when no retrieve is running. */
export function onRetrieveDone(core: SessionCore): boolean {
  const op = core.ops.find('retrieve');
  if (!op) return false;
  core.endOp(op);
  core.setState('asleep');
  armSleepTimer(core);
  op.resolve(op.delivered);
  return true;
}

/** While collecting buffered messages, any traffic but PINGRESP restarts T_retry and the caller's timeout. */
export function onAwakeTraffic(core: SessionCore): void {
  const op = core.ops.find('retrieve');
  if (!op) return;
  core.extendDeadline(op);
  core.scheduleRetry(op, core.now() + op.interval);
}

/** Counts a message delivered while a retrieve runs. */
export function countDelivered(core: SessionCore): void {
  const op = core.ops.find('retrieve');
  if (op) op.delivered++;
}

export function armSleepTimer(core: SessionCore): void {
  // The gateway's tolerance: +50 % up to a minute, +10 % above.
  core.timers.schedule(SLEEP_TIMER, core.now() + toleranceMs(core.sleepDuration));
}

export function onSleepTimer(core: SessionCore): void {
  if (core.state !== 'asleep') return;
  const reason = new MqttSnError(
    ErrorCode.TIMEOUT,
    `Slept past the ${core.sleepDuration} s duration without waking: the gateway considers the client lost.`,
  );
  finishDisconnected(core, reason, reason.code, reason.description);
}
