/** The nodes' small helpers: topic rules, payload conversions, reconnect delays, example flows. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromWire, toWire } from '../../nodes/runtime/payload';
import { isValidPublishTopic, parseKind, PredefinedTopics } from '../../nodes/runtime/topics';
import { buildExampleFlows } from '../../scripts/example-flows';

describe('nodes: helpers', function () {
  it('validates publish topics', function () {
    assert.ok(isValidPublishTopic('a/b'));
    for (const bad of ['', 'a/+', 'a/#', 'a\0b']) assert.ok(!isValidPublishTopic(bad), JSON.stringify(bad));
  });

  it('reads topic types by name or number', function () {
    assert.equal(parseKind('short'), 'short');
    assert.equal(parseKind(1), 'predefined');
    assert.equal(parseKind('2'), 'short');
    assert.equal(parseKind('0'), 'normal');
    assert.equal(parseKind('x'), undefined);
    assert.equal(parseKind(''), undefined);
  });

  it('parses the pre-defined topic map and refuses bad ones', function () {
    const map = PredefinedTopics.parse('{"1": "a/b", "7": "c"}');
    assert.equal(map.nameOf(7), 'c');
    assert.equal(map.idOf('a/b'), 1);
    assert.deepEqual(map.toObject(), { '1': 'a/b', '7': 'c' });
    assert.deepEqual(PredefinedTopics.parse('').toObject(), {});
    for (const bad of ['[1]', '{"0": "a"}', '{"65535": "a"}', '{"1": "a/+"}', '{"1": 5}', 'nope']) {
      assert.throws(() => PredefinedTopics.parse(bad), Error, bad);
    }
  });

  it('converts payloads both ways', function () {
    assert.equal(toWire({ a: 1 }), '{"a":1}');
    assert.equal(toWire(5), '5');
    assert.equal(toWire(null), '');
    assert.deepEqual(toWire(Buffer.from([1, 2])), Buffer.from([1, 2]));
    assert.deepEqual(fromWire(Buffer.from('{"a":1}'), 'auto'), { a: 1 });
    assert.equal(fromWire(Buffer.from('hello'), 'auto'), 'hello');
    assert.ok(Buffer.isBuffer(fromWire(Buffer.from([0xff, 0xfe]), 'auto')));
    assert.equal(fromWire(Buffer.from('{"a":1}'), 'utf8'), '{"a":1}');
    assert.throws(() => fromWire(Buffer.from('not json'), 'json'));
  });

  it('builds the npm start flow file from the examples: a tab each, shared config nodes', function () {
    const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
    const flows = buildExampleFlows(examples, 2000);
    const tabs = flows.filter((n) => n.type === 'tab');
    assert.equal(tabs.length, fs.readdirSync(examples).filter((f) => f.endsWith('.json')).length, 'a tab per example');
    const configs = flows.filter((n) => n.type === 'mqtt-sn-broker');
    assert.equal(new Set(configs.map((n) => n.id)).size, configs.length, 'each config node once');
    // The configurations of the default gateway follow its port; the flow-hosted gateway's keeps its own.
    assert.deepEqual(
      configs.map((n) => [n.id, n.port]).sort(),
      [['mqttsn.dtls', 8883], ['mqttsn.gw1885', 1885], ['mqttsn.local', 2000], ['mqttsn.sensor', 2000]],
    );
    const tabIds = new Set(tabs.map((t) => t.id));
    for (const node of flows) {
      if (node.type !== 'tab' && node.type !== 'mqtt-sn-broker') assert.ok(tabIds.has(node.z as string), `${node.id} on a tab`);
    }
    for (const type of ['mqtt-sn in', 'mqtt-sn out', 'mqtt-sn register', 'mqtt-sn sleep', 'mqtt-sn gateway']) {
      assert.ok(flows.some((n) => n.type === type), `an example uses ${type}`);
    }
    assert.equal(flows.filter((n) => n.type === 'comment').length, tabs.length, 'a comment in each example');
    // Only the first tab's debug nodes talk at start: the sidebar is not flooded by every example at once.
    const debugs = flows.filter((n) => n.type === 'debug');
    assert.ok(debugs.some((n) => n.z !== tabs[0].id), 'later tabs have debug nodes');
    for (const node of debugs) assert.equal(node.active !== false, node.z === tabs[0].id, `${node.id} active only on the first tab`);
  });
});
