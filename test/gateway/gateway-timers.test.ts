/**
 * The gateway's timers: one timer queue of the timers twin, one armed
 * underlying timer, whatever number of timers the sessions hold.
 */
import * as assert from 'node:assert';
import { GatewayTimers } from '../../lib/gateway/gateway-timers';
import { ManualClock } from '../helpers/manual-clock';

describe('gateway timers', () => {
  it('holds one underlying timer for a thousand timers and fires each at its deadline, ties in order', () => {
    const clock = new ManualClock();
    const timers = new GatewayTimers(clock);
    const fired: Array<[number, number]> = [];
    for (let i = 0; i < 1000; i++) {
      const ms = 1000 + (i % 10) * 100;
      timers.set(() => fired.push([clock.now(), i]), ms);
    }
    assert.strictEqual(clock.armed, 1);
    assert.strictEqual(timers.size, 1000);
    clock.advance(1399);
    assert.strictEqual(fired.length, 400);
    clock.advance(1000);
    assert.strictEqual(fired.length, 1000);
    const expected = [...Array(1000).keys()].map((i) => [1000 + (i % 10) * 100, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepStrictEqual(fired, expected);
    assert.strictEqual(clock.armed, 0, 'nothing left: no timer armed');
  });

  it('does not fire cleared timers, including one cleared by a timer due at the same time', () => {
    const clock = new ManualClock();
    const timers = new GatewayTimers(clock);
    const fired: string[] = [];
    const late = timers.set(() => fired.push('late'), 500);
    timers.set(() => fired.push('first'), 100);
    const handles: { victim?: unknown } = {};
    timers.set(() => {
      fired.push('clearer');
      timers.clear(handles.victim);
    }, 200);
    handles.victim = timers.set(() => fired.push('victim'), 200);
    timers.clear(late);
    timers.clear(undefined);
    clock.advance(1000);
    assert.deepStrictEqual(fired, ['first', 'clearer']);
  });

  it('lets a timer schedule another, and close() clears everything', () => {
    const clock = new ManualClock();
    const timers = new GatewayTimers(clock);
    const fired: number[] = [];
    timers.set(() => {
      fired.push(clock.now());
      timers.set(() => fired.push(clock.now()), 0);
      timers.set(() => fired.push(clock.now()), 50);
    }, 10);
    clock.advance(100);
    assert.deepStrictEqual(fired, [10, 10, 60]);
    timers.set(() => fired.push(-1), 10);
    timers.close();
    assert.strictEqual(clock.armed, 0);
    clock.advance(100);
    assert.deepStrictEqual(fired, [10, 10, 60]);
  });
});
