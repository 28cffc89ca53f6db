/**
 * The gateway's pure hardening rules: rates per source and in all, sessions
 * per source, the takeover policy and coalesced will updates.
 */
import * as assert from 'node:assert';
import { RateLimit, SourceCounter, TokenBucket } from '../../lib/gateway/source-limits';
import { mayTakeOver } from '../../lib/gateway/takeover';
import { WillUpdates } from '../../lib/gateway/will-updates';
import type { Will } from '../../lib/gateway/ports';
import { delay } from '../helpers/mqtt-inbox';

describe('gateway source limits', () => {
  it('refills a token bucket at its rate, up to its burst', () => {
    const bucket = new TokenBucket(2, 2, 0);
    assert.deepStrictEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, false]);
    assert.strictEqual(bucket.take(499), false);
    assert.strictEqual(bucket.take(500), true);
    assert.strictEqual(bucket.full(10000), true);
  });

  it('limits each source and the total; a source over its rate does not spend the total', () => {
    const limit = new RateLimit(1, 3, 100, 0);
    assert.strictEqual(limit.take('a', 0), 'ok');
    assert.strictEqual(limit.take('a', 0), 'source');
    assert.strictEqual(limit.take('a', 0), 'source');
    assert.strictEqual(limit.take('b', 0), 'ok');
    assert.strictEqual(limit.take('c', 0), 'ok');
    assert.strictEqual(limit.take('d', 0), 'total');
    assert.strictEqual(limit.take('a', 1000), 'ok');
  });

  it('remembers a bounded number of sources', () => {
    const limit = new RateLimit(1, 1e9, 10, 0);
    for (let i = 0; i < 1000; i++) limit.take(`s${i}`, 0);
    // still bounded, and the newest source is still limited
    assert.strictEqual(limit.take('s999', 0), 'source');
    assert.ok((limit as unknown as { perSource: Map<string, unknown> }).perSource.size <= 10);
  });

  it('counts sessions per source', () => {
    const counter = new SourceCounter();
    counter.add('x');
    counter.add('x');
    counter.remove('x');
    assert.strictEqual(counter.count('x'), 1);
    counter.remove('x');
    assert.strictEqual(counter.count('x'), 0);
  });

  it('decides takeovers by policy, address and liveness', () => {
    assert.strictEqual(mayTakeOver('allow', true, false), true);
    assert.strictEqual(mayTakeOver('same-address', true, true), true);
    assert.strictEqual(mayTakeOver('same-address', true, false), false);
    assert.strictEqual(mayTakeOver('same-address', false, false), true);
    assert.strictEqual(mayTakeOver('refuse-while-alive', true, true), false);
    assert.strictEqual(mayTakeOver('refuse-while-alive', false, false), true);
  });

  it('applies at most one will update per interval, the latest, answering every request', async () => {
    const applied: Array<Will | undefined> = [];
    const updates = new WillUpdates(200, (will, done) => {
      applied.push(will);
      setImmediate(() => done());
    });
    const will = (text: string): Will => ({ topic: 'w', payload: Buffer.from(text), qos: 0, retain: false });
    let answered = 0;
    for (let i = 0; i < 50; i++) updates.request(will(`m${i}`), () => answered++);
    await delay(50);
    assert.strictEqual(applied.length, 1);
    const deadline = Date.now() + 5000;
    while (answered < 50 && Date.now() < deadline) await delay(20);
    assert.strictEqual(answered, 50);
    assert.strictEqual(applied.length, 2);
    assert.strictEqual(applied[1]?.payload.toString(), 'm49');
    updates.close();
  });
});
