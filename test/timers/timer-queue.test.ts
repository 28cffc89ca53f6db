/**
 * One behavioural suite run over every timer queue implementation available in
 * this process, plus a seeded differential test between them.
 */
import * as assert from 'node:assert/strict';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { nativeMode } from '../../lib/native';
import { createTimerQueue, timerImplementation } from '../../lib/timers';
import type { TimerQueue, TimerQueueImplementation } from '../../lib/timers';
import { loadNativeTimerConstructor, loadNativeTimers } from '../../lib/timers/native-timers';
import { tsTimers } from '../../lib/timers/ts-timers';
import { rng } from '../codec/generator';
import { ReferenceQueue } from './reference';

const nativeTimers = loadNativeTimers();
const implementations: TimerQueueImplementation[] = [tsTimers];
if (nativeTimers) implementations.push(nativeTimers);
implementations.push({ name: timerImplementation(), create: createTimerQueue });

function labelOf(impl: TimerQueueImplementation, index: number): string {
  return index === implementations.length - 1 ? `createTimerQueue() (${impl.name})` : `${impl.name} timer queue`;
}

/** Asserts that `fn` throws the INVALID_ARGUMENT MqttSnError and returns its description. */
function invalidArgument(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MqttSnError, `expected an MqttSnError, got ${String(caught)}`);
  assert.equal(caught.code, ErrorCode.INVALID_ARGUMENT);
  return caught.description;
}

describe('timer queue: implementation choice', () => {
  it('follows MQTTSN_NATIVE', () => {
    const mode = nativeMode();
    if (mode === 'off') assert.equal(timerImplementation(), 'ts');
    if (mode === 'force') assert.equal(timerImplementation(), 'native');
    // Unset, the TypeScript queue: it measured as fast or faster than the native one.
    if (mode === 'auto') assert.equal(timerImplementation(), 'ts');
  });

  it('offers the native queue whenever the addon is built, whatever MQTTSN_NATIVE says', () => {
    // An addon that loads but whose TimerQueue fails the self-check would leave nativeTimers null.
    assert.equal(nativeTimers !== null, loadNativeTimerConstructor() !== undefined);
    assert.equal(tsTimers.name, 'ts');
    if (nativeTimers) assert.equal(nativeTimers.name, 'native');
  });
});

implementations.forEach((impl, index) => {
  describe(labelOf(impl, index), () => {
    let queue: TimerQueue;
    beforeEach(() => {
      queue = impl.create();
    });

    it('starts empty', () => {
      assert.equal(queue.size, 0);
      assert.equal(queue.nextDeadline(), Infinity);
      assert.deepEqual(queue.expire(Number.MAX_VALUE), []);
      assert.equal(queue.has(1), false);
      assert.equal(queue.cancel(1), false);
    });

    it('expires timers earliest deadline first', () => {
      queue.schedule(1, 300);
      queue.schedule(2, 100);
      queue.schedule(3, 200);
      queue.schedule(4, 50.5);
      assert.equal(queue.size, 4);
      assert.equal(queue.nextDeadline(), 50.5);
      assert.deepEqual(queue.expire(1000), [4, 2, 3, 1]);
      assert.equal(queue.size, 0);
    });

    it('expires equal deadlines in scheduling order', () => {
      for (const id of [9, 3, 7, 1, 5]) queue.schedule(id, 100);
      queue.schedule(2, 99);
      assert.deepEqual(queue.expire(100), [2, 9, 3, 7, 1, 5]);
    });

    it('expires only what is due, including a deadline equal to now', () => {
      queue.schedule(1, 10);
      queue.schedule(2, 20);
      queue.schedule(3, 30);
      assert.deepEqual(queue.expire(9.999), []);
      assert.deepEqual(queue.expire(20), [1, 2]);
      assert.equal(queue.nextDeadline(), 30);
      assert.equal(queue.size, 1);
      assert.deepEqual(queue.expire(29), []);
      assert.deepEqual(queue.expire(31), [3]);
      assert.equal(queue.nextDeadline(), Infinity);
    });

    it('reschedules a timer earlier', () => {
      queue.schedule(1, 100);
      queue.schedule(2, 200);
      queue.schedule(2, 50);
      assert.equal(queue.size, 2);
      assert.equal(queue.nextDeadline(), 50);
      assert.deepEqual(queue.expire(75), [2]);
      assert.deepEqual(queue.expire(100), [1]);
    });

    it('reschedules a timer later', () => {
      queue.schedule(1, 100);
      queue.schedule(2, 200);
      queue.schedule(1, 300);
      assert.equal(queue.size, 2);
      assert.equal(queue.nextDeadline(), 200);
      assert.deepEqual(queue.expire(250), [2]);
      assert.deepEqual(queue.expire(300), [1]);
    });

    it('puts a timer rescheduled to the same deadline behind its ties', () => {
      queue.schedule(1, 100);
      queue.schedule(2, 100);
      queue.schedule(3, 100);
      queue.schedule(1, 100);
      assert.deepEqual(queue.expire(100), [2, 3, 1]);
    });

    it('cancels timers anywhere in the queue', () => {
      for (let id = 0; id < 10; id++) queue.schedule(id, 100 + id);
      assert.equal(queue.cancel(0), true);
      assert.equal(queue.cancel(5), true);
      assert.equal(queue.cancel(9), true);
      assert.equal(queue.cancel(5), false);
      assert.equal(queue.size, 7);
      assert.equal(queue.nextDeadline(), 101);
      assert.equal(queue.has(5), false);
      assert.equal(queue.has(6), true);
      assert.deepEqual(queue.expire(200), [1, 2, 3, 4, 6, 7, 8]);
    });

    it('reports has() until a timer expires or is cancelled', () => {
      queue.schedule(7, 10);
      assert.equal(queue.has(7), true);
      queue.expire(10);
      assert.equal(queue.has(7), false);
      queue.schedule(7, 20);
      assert.equal(queue.has(7), true);
      queue.cancel(7);
      assert.equal(queue.has(7), false);
    });

    it('accepts the whole uint32 id range and any finite deadline', () => {
      queue.schedule(0, -5);
      queue.schedule(0xffffffff, Number.MAX_VALUE);
      queue.schedule(123456789, 0);
      assert.equal(queue.nextDeadline(), -5);
      assert.deepEqual(queue.expire(0), [0, 123456789]);
      assert.deepEqual(queue.expire(Infinity), [0xffffffff]);
    });

    it('expires everything at Infinity and nothing at -Infinity', () => {
      queue.schedule(1, 1);
      queue.schedule(2, 2);
      assert.deepEqual(queue.expire(-Infinity), []);
      assert.deepEqual(queue.expire(Infinity), [1, 2]);
    });

    it('expires thousands of timers at once in order', () => {
      const count = 5000;
      for (let i = 0; i < count; i++) queue.schedule(i, (i * 7919) % 1000);
      const due = queue.expire(1000);
      assert.equal(due.length, count);
      const expected = Array.from({ length: count }, (_, i) => i).sort(
        (a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000) || a - b,
      );
      assert.deepEqual(due, expected);
      assert.equal(queue.size, 0);
    });

    it('expires exactly one and two full native batches (1024 ids per call) in order', () => {
      for (const count of [1024, 2048]) {
        for (let i = 0; i < count; i++) queue.schedule(count - i, i);
        const due = queue.expire(count);
        assert.equal(due.length, count);
        assert.equal(due[0], count);
        assert.equal(due[count - 1], 1);
        assert.ok(due.every((id, i) => id === count - i), `order of ${count}`);
        assert.equal(queue.size, 0);
        assert.equal(queue.nextDeadline(), Infinity);
      }
    });

    it('clears everything and stays usable', () => {
      for (let id = 0; id < 100; id++) queue.schedule(id, id);
      queue.clear();
      assert.equal(queue.size, 0);
      assert.equal(queue.nextDeadline(), Infinity);
      assert.equal(queue.has(5), false);
      assert.deepEqual(queue.expire(Infinity), []);
      queue.schedule(5, 1);
      queue.schedule(4, 1);
      assert.deepEqual(queue.expire(1), [5, 4]);
    });

    it('drives retransmissions with a fake clock', () => {
      // A client retransmits each unacknowledged packet every 1000 ms; time
      // only moves when the test says so.
      let now = 0;
      const sent: string[] = [];
      const retryMs = 1000;
      const send = (msgId: number): void => {
        sent.push(`${now}:${msgId}`);
        queue.schedule(msgId, now + retryMs);
      };
      send(1);
      now = 400;
      send(2);
      now = 999;
      assert.deepEqual(queue.expire(now), []);
      now = 1000;
      queue.expire(now).forEach(send);
      assert.equal(queue.cancel(2), true); // acknowledged
      now = queue.nextDeadline();
      queue.expire(now).forEach(send);
      assert.deepEqual(sent, ['0:1', '400:2', '1000:1', '2000:1']);
      assert.equal(queue.nextDeadline(), 3000);
    });

    it('rejects bad timer ids with INVALID_ARGUMENT', () => {
      const bad: unknown[] = [-1, 1.5, 0x100000000, NaN, Infinity, -0.5, '1', null, undefined, {}];
      for (const id of bad) {
        invalidArgument(() => queue.schedule(id as number, 1));
        invalidArgument(() => queue.cancel(id as number));
        invalidArgument(() => queue.has(id as number));
      }
      assert.equal(queue.size, 0);
    });

    it('rejects non-finite deadlines and a NaN now with INVALID_ARGUMENT', () => {
      for (const deadline of [NaN, Infinity, -Infinity, '5', null, undefined]) {
        invalidArgument(() => queue.schedule(1, deadline as number));
      }
      for (const now of [NaN, '5', null, undefined]) {
        invalidArgument(() => queue.expire(now as number));
      }
      assert.equal(queue.size, 0);
      assert.equal(queue.has(1), false);
    });

    it('keeps a rejected reschedule from changing the timer', () => {
      queue.schedule(1, 10);
      invalidArgument(() => queue.schedule(1, NaN));
      assert.equal(queue.nextDeadline(), 10);
      assert.deepEqual(queue.expire(10), [1]);
    });

    it('describes argument errors exactly like the TypeScript queue', () => {
      const ts = tsTimers.create();
      const cases: Array<(q: TimerQueue) => unknown> = [
        (q) => q.schedule(-1, 1),
        (q) => q.schedule(1, NaN),
        (q) => q.cancel(2.5),
        (q) => q.has('x' as unknown as number),
        (q) => q.expire(NaN),
      ];
      for (const call of cases) {
        assert.equal(
          invalidArgument(() => call(queue)),
          invalidArgument(() => call(ts)),
        );
      }
    });

    it('keeps ids apart that differ only in their high or low bits', () => {
      const reference = new ReferenceQueue();
      const ids: number[] = [];
      for (let i = 0; i < 2048; i++) ids.push(i, (i << 20) >>> 0, 0xffffffff - i, (i * 0x10000 + 7) >>> 0);
      ids.forEach((id, n) => {
        queue.schedule(id, n % 97);
        reference.schedule(id, n % 97);
      });
      assert.equal(queue.size, reference.size);
      ids.forEach((id, n) => {
        if (n % 3 === 0) assert.equal(queue.cancel(id), reference.cancel(id));
      });
      for (const id of ids) assert.equal(queue.has(id), reference.has(id));
      assert.deepEqual(queue.expire(50), reference.expire(50));
      assert.deepEqual(queue.expire(Infinity), reference.expire(Infinity));
    });

    it('matches a simple reference model over 20,000 seeded random operations', () => {
      const reference = new ReferenceQueue();
      const random = rng(0x5eed + index);
      let now = 0;
      for (let step = 0; step < 20_000; step++) {
        const roll = random();
        const id = Math.floor(random() * 300);
        if (roll < 0.45) {
          const deadline = now + Math.floor(random() * 50);
          queue.schedule(id, deadline);
          reference.schedule(id, deadline);
        } else if (roll < 0.65) {
          assert.equal(queue.cancel(id), reference.cancel(id), `step ${step}: cancel(${id})`);
        } else if (roll < 0.75) {
          assert.equal(queue.has(id), reference.has(id), `step ${step}: has(${id})`);
        } else if (roll < 0.9995) {
          now += Math.floor(random() * 4);
          assert.deepEqual(queue.expire(now), reference.expire(now), `step ${step}: expire(${now})`);
        } else {
          queue.clear();
          reference.clear();
        }
        assert.equal(queue.size, reference.size, `step ${step}: size`);
        assert.equal(queue.nextDeadline(), reference.nextDeadline(), `step ${step}: nextDeadline`);
      }
    });
  });
});

describe('timer queue: TypeScript and native side by side', function () {
  if (!nativeTimers) {
    it('is not available: the native addon is not built', () => {
      assert.equal(timerImplementation(), 'ts');
    });
    return;
  }
  const native = nativeTimers;

  it('agree step by step over 100,000 seeded random operations', () => {
    const ts = tsTimers.create();
    const nt = native.create();
    const random = rng(20240601);
    let now = 1_000_000;
    // A mix of close ties (integer deadlines), fractional deadlines, a hot
    // range of ids that is rescheduled and cancelled often, and rare huge ids.
    for (let step = 0; step < 100_000; step++) {
      const roll = random();
      const id = random() < 0.01 ? 0xffffffff - Math.floor(random() * 4) : Math.floor(random() * 4000);
      if (roll < 0.5) {
        const deadline = now + (random() < 0.8 ? Math.floor(random() * 200) : random() * 200) - 20;
        ts.schedule(id, deadline);
        nt.schedule(id, deadline);
      } else if (roll < 0.7) {
        assert.equal(nt.cancel(id), ts.cancel(id), `step ${step}: cancel(${id})`);
      } else if (roll < 0.8) {
        assert.equal(nt.has(id), ts.has(id), `step ${step}: has(${id})`);
      } else if (roll < 0.9999) {
        now += random() * 3;
        assert.deepEqual(nt.expire(now), ts.expire(now), `step ${step}: expire(${now})`);
      } else {
        ts.clear();
        nt.clear();
      }
      assert.equal(nt.size, ts.size, `step ${step}: size`);
      assert.equal(nt.nextDeadline(), ts.nextDeadline(), `step ${step}: nextDeadline`);
    }
    assert.deepEqual(nt.expire(Infinity), ts.expire(Infinity));
  });

  it('agree on large queues with mass expiry', () => {
    const ts = tsTimers.create();
    const nt = native.create();
    const random = rng(7);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20_000; i++) {
        const id = Math.floor(random() * 0xffffffff);
        const deadline = Math.floor(random() * 1000);
        ts.schedule(id, deadline);
        nt.schedule(id, deadline);
      }
      const cut = 200 * (round + 1);
      assert.deepEqual(nt.expire(cut), ts.expire(cut));
      assert.equal(nt.size, ts.size);
    }
  });
});

describe('native TimerQueue class used directly', () => {
  const Native = loadNativeTimerConstructor() as
    | (new (...args: unknown[]) => { schedule(id: unknown, deadline: unknown): void; expire(now: unknown): number })
    | undefined;
  if (!nativeTimers || !Native) {
    it('is not available: the native addon is not built', () => {
      assert.equal(nativeTimers, null);
    });
    return;
  }
  const NativeQueue = Native;

  it('refuses bad constructor arguments with a coded TypeError instead of crashing', () => {
    for (const args of [[], [new Float64Array(1), new Uint32Array(4)], [new Float64Array(2), new Int32Array(4)], [1, 2]]) {
      assert.throws(() => new NativeQueue(...args), { name: 'TypeError', code: 'ERR_MQTTSN_INVALID_ARGUMENT' });
    }
  });

  it('refuses bad arguments itself when called without the wrapper', () => {
    const raw = new NativeQueue(new Float64Array(2), new Uint32Array(4));
    assert.throws(() => raw.schedule(-1, 1), { code: 'ERR_MQTTSN_INVALID_ARGUMENT' });
    assert.throws(() => raw.schedule(1, Infinity), { code: 'ERR_MQTTSN_INVALID_ARGUMENT' });
    assert.throws(() => raw.expire(NaN), { code: 'ERR_MQTTSN_INVALID_ARGUMENT' });
  });
});
