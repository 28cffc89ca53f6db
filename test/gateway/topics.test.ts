/**
 * The gateway's pure topic registry and queue rules.
 */
import * as assert from 'node:assert';
import { MessageQueue } from '../../lib/gateway/message-queue';
import { toleranceMs } from '../../lib/keep-alive';
import { PredefinedIndex, TopicRegistry } from '../../lib/gateway/topic-registry';

describe('gateway topic registry and queue', () => {
  it('registers ids per client up to its limit, pre-defined ids apart', () => {
    const registry = new TopicRegistry(new PredefinedIndex({ '1': 'pre/one' }), 2);
    assert.strictEqual(registry.register('x'), 1);
    assert.strictEqual(registry.register('x'), 1);
    assert.strictEqual(registry.register('y'), 2);
    assert.strictEqual(registry.register('z'), undefined);
    assert.strictEqual(registry.predefinedName(1), 'pre/one');
    assert.strictEqual(registry.nameOf(1), 'x');
    registry.remove(1);
    assert.strictEqual(registry.register('z'), 3);
  });

  it('keeps QoS 1/2 over QoS 0 when the queue is full', () => {
    const queue = new MessageQueue(2);
    const m = (qos: 0 | 1 | 2, text: string) => ({ topic: 't', payload: Buffer.from(text), qos, retain: false });
    assert.strictEqual(queue.push(m(0, 'a')), 'queued');
    assert.strictEqual(queue.push(m(1, 'b')), 'queued');
    assert.strictEqual(queue.push(m(0, 'c')), 'dropped-qos0');
    assert.strictEqual(queue.push(m(2, 'd')), 'evicted-qos0');
    assert.strictEqual(queue.push(m(1, 'e')), 'refused');
    assert.deepStrictEqual([queue.shift()?.payload.toString(), queue.shift()?.payload.toString()], ['b', 'd']);
  });

  it('stretches keep-alive by the spec tolerance', () => {
    assert.strictEqual(toleranceMs(60), 90000);
    assert.strictEqual(Math.round(toleranceMs(600)), 660000);
    assert.strictEqual(toleranceMs(10, 2), 20000);
  });
});
