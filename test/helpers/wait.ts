/**
 * Waiting in tests for a condition, not for a fixed time: the machine may be loaded.
 */
import { delay } from './mqtt-inbox';

export { delay };

/** Resolves once `condition` holds; rejects naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await delay(5);
  }
}
