/**
 * Argument checks shared by both timer queues, so a bad argument raises the
 * same MqttSnError (INVALID_ARGUMENT) whichever implementation is in use.
 */
import { ErrorCode, MqttSnError } from '../errors';

/** Largest timer id: ids are uint32 so the native queue stores them unboxed. */
export const MAX_TIMER_ID = 0xffffffff;

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value;
}

/** Throws unless `id` is an integer from 0 to 4294967295. */
export function checkTimerId(id: unknown): asserts id is number {
  // `>>> 0` maps every uint32 onto itself and anything else (fractions,
  // negatives, NaN, non-numbers) onto a different value.
  if ((id as number) >>> 0 !== id) {
    throw new MqttSnError(
      ErrorCode.INVALID_ARGUMENT,
      `Timer id must be an integer from 0 to ${MAX_TIMER_ID}, got ${describe(id)}.`,
    );
  }
}

/** Throws unless `deadline` is a finite number. */
export function checkDeadline(deadline: unknown): asserts deadline is number {
  if (!Number.isFinite(deadline)) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Timer deadline must be a finite number, got ${describe(deadline)}.`);
  }
}

/** Throws unless `now` is a number other than NaN (Infinity expires everything). */
export function checkNow(now: unknown): asserts now is number {
  if (typeof now !== 'number' || Number.isNaN(now)) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `The current time must be a number, got ${describe(now)}.`);
  }
}
