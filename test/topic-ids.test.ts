/**
 * Topic ids as the codec, the client, the gateway and the nodes all read them.
 */
import * as assert from 'node:assert/strict';
import { encode, ErrorCode, isTopicId, MqttSnError, parsePredefinedTopics, shortTopicFromId, shortTopicToId } from '../lib';

function invalidArgument(error: unknown): boolean {
  return error instanceof MqttSnError && error.code === ErrorCode.INVALID_ARGUMENT;
}

describe('topic ids', () => {
  it('takes 1 to 65534 as topic ids and nothing else', () => {
    for (const id of [1, 2, 0x1234, 0xfffe]) assert.equal(isTopicId(id), true, String(id));
    for (const id of [0, 0xffff, -1, 1.5, NaN, '7', undefined]) assert.equal(isTopicId(id), false, String(id));
  });

  it('converts short topic names to the 16-bit field and back, as the wire carries them', () => {
    assert.equal(shortTopicToId('ab'), 0x6162);
    assert.equal(shortTopicFromId(0x6162), 'ab');
    for (const name of ['ab', 'Z9', '/x', '\u007f\u0001']) assert.equal(shortTopicFromId(shortTopicToId(name)), name);
    const wire = encode({ type: 'SUBSCRIBE', dup: false, qos: 0, topicIdType: 2, msgId: 1, topicId: 'ab' });
    assert.equal(wire.readUInt16BE(wire.length - 2), shortTopicToId('ab'));
  });

  it('reads pre-defined topics from an object, a Map, JSON text or id=name text', () => {
    const expected = new Map([
      [1, 'a/b'],
      [7, 'c'],
    ]);
    assert.deepEqual(parsePredefinedTopics({ '1': 'a/b', '7': 'c' }), expected);
    assert.deepEqual(parsePredefinedTopics(new Map([[1, 'a/b'], [7, 'c']])), expected);
    assert.deepEqual(parsePredefinedTopics(' {"1": "a/b", "7": "c"} '), expected);
    assert.deepEqual(parsePredefinedTopics('1=a/b; 7=c'), expected);
    assert.deepEqual(parsePredefinedTopics('1=a/b,7=c\n'), expected);
    assert.deepEqual(parsePredefinedTopics(''), new Map());
    assert.deepEqual(parsePredefinedTopics(undefined), new Map());
  });

  it('refuses bad pre-defined topics with INVALID_ARGUMENT naming the setting', () => {
    for (const bad of ['0=a', '65535=a', 'x=a', '=a', '1=', '1=a/+', '1=#', 'nope', '{"1": 5}', '{not json', '[1]', 5, [1]]) {
      assert.throws(() => parsePredefinedTopics(bad, 'PredefinedTopics'), (error: unknown) => invalidArgument(error) && (error as Error).message.startsWith('PredefinedTopics'), String(bad));
    }
  });
});
