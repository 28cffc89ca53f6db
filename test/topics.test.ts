/**
 * The MQTT topic rules the client, the gateway and the nodes share.
 */
import * as assert from 'node:assert/strict';
import { hasWildcard, isValidTopicFilter, isValidTopicName, topicMatches } from '../lib';

describe('topic rules', () => {
  it('matches filters as MQTT does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b', 'a/b', true],
      ['a/b', 'a/b/c', false],
      ['a/+', 'a/b', true],
      ['a/+', 'a/b/c', false],
      ['a/+/c', 'a/b/c', true],
      ['a/+/c', 'a/b/d', false],
      ['a/+/c', 'a//c', true],
      ['a/#', 'a', true],
      ['a/#', 'a/b/c', true],
      ['+/+', 'a/b', true],
      ['#', 'x/y', true],
      ['#', '$SYS/x', false],
      ['+/x', '$SYS/x', false],
    ];
    for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} ${topic}`);
  });

  it('validates filters', () => {
    for (const good of ['a', 'a/b', '+', '#', 'a/+', 'a/+/b', 'a/#', '+/+', '+/+/x']) assert.ok(isValidTopicFilter(good), good);
    for (const bad of ['', 'a/#/b', 'a+', 'a/b#', '#/a', 'a\0b']) assert.ok(!isValidTopicFilter(bad), JSON.stringify(bad));
  });

  it('validates topic names and spots wildcards', () => {
    assert.ok(isValidTopicName('a/b'));
    for (const bad of ['', 'a/+', 'a/#', 'a\0b']) assert.ok(!isValidTopicName(bad), JSON.stringify(bad));
    assert.ok(hasWildcard('a/+/c') && hasWildcard('#'));
    assert.ok(!hasWildcard('a/b'));
  });
});
