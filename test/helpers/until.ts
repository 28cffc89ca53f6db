/** Waits for a condition rather than a fixed time: tests pass on a loaded machine. */
import { delay } from './mqtt-inbox';

export async function until(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(5);
  }
}
