/**
 * The in, out, register and sleep nodes against a real gateway (embedded
 * broker) on 127.0.0.1, through Node-RED's own runtime.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import {
  brokerNode,
  collect,
  delay,
  helper,
  messagesDuring,
  mqttSnNodes,
  nextMessage,
  onTab,
  PREDEFINED,
  startGateway,
  StatusLog,
  until,
} from './support';

describe('nodes: messages through a real gateway', function () {
  let gateway: MqttSnGateway;
  let port: number;

  before(async function () {
    gateway = await startGateway({ predefined: PREDEFINED });
    port = gateway.address().port;
  });

  after(async function () {
    await gateway.stop();
  });

  afterEach(async function () {
    await helper.unload();
  });

  /** Loads a flow and waits until every listed node shows "connected". */
  async function loadConnected(flow: Record<string, unknown>[], ids: string[]): Promise<void> {
    await helper.load([mqttSnNodes], onTab(flow));
    await Promise.all(ids.map((id) => new StatusLog(helper.getNode(id)).waitFor('green', 'dot')));
  }

  it('publishes and subscribes: topic, payload, qos, retain, topicId and topicIdType', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'nodes/hello', topicType: 'normal', qos: '1', datatype: 'auto', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/hello', topicType: 'normal', qos: '1', retain: 'false' },
      { id: 'h', type: 'helper' },
    ];
    await helper.load([mqttSnNodes], onTab(flow));
    const inStatus = new StatusLog(helper.getNode('in'));
    await inStatus.waitFor('green', 'dot');
    assert.ok(inStatus.seen.some((s) => s.fill === 'yellow' && s.shape === 'ring'), 'connecting shown first');
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: { temperature: 21.5 } });
    const msg = await received;
    assert.equal(msg.topic, 'nodes/hello');
    assert.deepEqual(msg.payload, { temperature: 21.5 });
    assert.equal(msg.qos, 1);
    assert.equal(msg.retain, false);
    assert.equal(msg.topicIdType, 0);
    assert.equal(typeof msg.topicId, 'number');
    assert.ok((msg.topicId as number) > 0);
  });

  it('converts payloads as each in node asks, with the core node\'s six output formats', async function () {
    const formats = ['utf8', 'json', 'buffer', 'auto', 'auto-string', 'base64'];
    const flow: Record<string, unknown>[] = [brokerNode('b', port)];
    for (const f of formats) {
      flow.push({ id: `in-${f}`, type: 'mqtt-sn in', broker: 'b', topic: 'nodes/fmt', topicType: 'normal', qos: '0', datatype: f, wires: [[`h-${f}`]] });
      flow.push({ id: `bin-${f}`, type: 'mqtt-sn in', broker: 'b', topic: 'nodes/bin', topicType: 'normal', qos: '0', datatype: f, wires: [[`hb-${f}`]] });
      flow.push({ id: `h-${f}`, type: 'helper' }, { id: `hb-${f}`, type: 'helper' });
    }
    flow.push({ id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '1', retain: '' });
    await loadConnected(flow, formats.flatMap((f) => [`in-${f}`, `bin-${f}`]));
    const text = Object.fromEntries(formats.map((f) => [f, nextMessage(helper.getNode(`h-${f}`))]));
    const binary = Object.fromEntries(formats.filter((f) => f !== 'json').map((f) => [f, nextMessage(helper.getNode(`hb-${f}`))]));
    helper.getNode('out').receive({ topic: 'nodes/fmt', payload: '[1,2,3]' });
    helper.getNode('out').receive({ topic: 'nodes/bin', payload: Buffer.from([0xff, 0x00, 0xfe]) });
    assert.equal((await text.utf8).payload, '[1,2,3]');
    assert.deepEqual((await text.json).payload, [1, 2, 3]);
    assert.deepEqual((await text.buffer).payload, Buffer.from('[1,2,3]'));
    assert.deepEqual((await text.auto).payload, [1, 2, 3], 'auto parses JSON');
    assert.equal((await text['auto-string']).payload, '[1,2,3]', 'auto-string keeps JSON text as a string');
    assert.equal((await text.base64).payload, Buffer.from('[1,2,3]').toString('base64'));
    const bytes = Buffer.from([0xff, 0x00, 0xfe]);
    assert.deepEqual((await binary.auto).payload, bytes, 'binary data stays a Buffer in auto mode');
    assert.deepEqual((await binary['auto-string']).payload, bytes, 'and in auto-string mode');
    assert.deepEqual((await binary.buffer).payload, bytes);
    assert.equal((await binary.base64).payload, '/wD+');
    assert.equal((await binary.utf8).payload, bytes.toString('utf8'));
  });

  it('reports a payload that is not JSON to a Catch node, with the text as msg.payload', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'in-json', type: 'mqtt-sn in', broker: 'b', topic: 'nodes/badjson', topicType: 'normal', qos: '0', datatype: 'json', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/badjson', topicType: 'normal', qos: '1', retain: '' },
      { id: 'catcher', type: 'catch', scope: ['in-json'], uncaught: false, wires: [['he']] },
      { id: 'h', type: 'helper' },
      { id: 'he', type: 'helper' },
    ];
    await loadConnected(flow, ['in-json']);
    const caught = nextMessage(helper.getNode('he'));
    const passed = messagesDuring(helper.getNode('h'), 1000);
    helper.getNode('out').receive({ payload: 'not {json' });
    const msg = await caught;
    assert.match((msg.error as { message: string }).message, /invalid-json-parse/);
    assert.equal(msg.payload, 'not {json');
    assert.equal(msg.topic, 'nodes/badjson');
    assert.deepEqual(await passed, [], 'nothing goes out of the node');
  });

  it('retains a message when asked, and a later subscriber sees msg.retain true', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '', retain: '' },
      { id: 'late', type: 'mqtt-sn in', broker: 'b', topic: '', topicType: 'normal', qos: '1', datatype: 'utf8', inputs: 1, wires: [['h']] },
      { id: 'done', type: 'complete', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'h', type: 'helper' },
      { id: 'hc', type: 'helper' },
    ];
    await loadConnected(flow, ['out']);
    const acknowledged = nextMessage(helper.getNode('hc'));
    helper.getNode('out').receive({ topic: 'nodes/retained', payload: 'kept', qos: 1, retain: true });
    await acknowledged;
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('late').receive({ action: 'subscribe', topic: 'nodes/retained' });
    const msg = await received;
    assert.equal(msg.payload, 'kept');
    assert.equal(msg.retain, true);
    const cleared = nextMessage(helper.getNode('hc'));
    helper.getNode('out').receive({ topic: 'nodes/retained', payload: '', qos: 1, retain: true });
    await cleared;
  });

  it('resolves wildcard matches to full topic names (registered by the gateway)', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'wild/#', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '1', retain: '' },
      { id: 'h', type: 'helper' },
    ];
    await loadConnected(flow, ['in']);
    const h = helper.getNode('h');
    let received = nextMessage(h);
    helper.getNode('out').receive({ topic: 'wild/kitchen/temp', payload: '21' });
    let msg = await received;
    assert.equal(msg.topic, 'wild/kitchen/temp');
    assert.equal(msg.payload, '21');
    received = nextMessage(h);
    helper.getNode('out').receive({ topic: 'wild/garden', payload: '7' });
    msg = await received;
    assert.equal(msg.topic, 'wild/garden');
    assert.equal(msg.topicIdType, 0);
  });

  it('publishes with QoS -1 to a short name and a pre-defined id', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'short-in', type: 'mqtt-sn in', broker: 'b', topic: 'sh', topicType: 'short', qos: '0', datatype: 'utf8', wires: [['h1']] },
      { id: 'pre-in', type: 'mqtt-sn in', broker: 'b', topic: '1', topicType: 'predefined', qos: '0', datatype: 'utf8', wires: [['h2']] },
      { id: 'short-out', type: 'mqtt-sn out', broker: 'b', topic: 'sh', topicType: 'short', qos: '-1', retain: '' },
      { id: 'pre-out', type: 'mqtt-sn out', broker: 'b', topic: 'test/predefined/one', topicType: 'predefined', qos: '-1', retain: '' },
      { id: 'h1', type: 'helper' },
      { id: 'h2', type: 'helper' },
    ];
    await loadConnected(flow, ['short-in', 'pre-in']);
    const shortMsg = nextMessage(helper.getNode('h1'));
    const preMsg = nextMessage(helper.getNode('h2'));
    helper.getNode('short-out').receive({ payload: 'short' });
    helper.getNode('pre-out').receive({ payload: 'pre' });
    const s = await shortMsg;
    assert.equal(s.topic, 'sh');
    assert.equal(s.topicIdType, 2);
    assert.equal(s.topicId, 'sh');
    assert.equal(s.payload, 'short');
    const p = await preMsg;
    assert.equal(p.topic, 'test/predefined/one');
    assert.equal(p.topicIdType, 1);
    assert.equal(p.topicId, 1);
    assert.equal(p.payload, 'pre');
  });

  it('subscribes and unsubscribes dynamically, and lists its subscriptions', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: '', topicType: 'normal', qos: '1', datatype: 'utf8', inputs: 1, wires: [['h']] },
      // Hears a message published after the one that must not reach the dynamic node any more.
      { id: 'marker', type: 'mqtt-sn in', broker: 'b', topic: 'marker/dyn', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['hm']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '1', retain: '' },
      { id: 'done', type: 'complete', scope: ['in'], uncaught: false, wires: [['hc']] },
      { id: 'h', type: 'helper' },
      { id: 'hm', type: 'helper' },
      { id: 'hc', type: 'helper' },
    ];
    await loadConnected(flow, ['in']);
    const inNode = helper.getNode('in');
    const hc = helper.getNode('hc');
    const h = helper.getNode('h');
    const out = helper.getNode('out');

    let completed = nextMessage(hc);
    inNode.receive({ action: 'subscribe', topic: { topic: 'dyn/+', qos: 1 } });
    await completed;
    let received = nextMessage(h);
    out.receive({ topic: 'dyn/a', payload: 'one' });
    const msg = await received;
    assert.equal(msg.topic, 'dyn/a');
    assert.equal(msg.payload, 'one');

    received = nextMessage(h);
    inNode.receive({ action: 'getSubscriptions' });
    const list = await received;
    assert.equal(list.topic, 'subscriptions');
    assert.deepEqual(list.payload, [{ topic: 'dyn/+', topicType: 'normal', qos: 1, datatype: 'utf8' }]);

    completed = nextMessage(hc, 5000, (m) => m.action === 'unsubscribe');
    inNode.receive({ action: 'unsubscribe', topic: 'dyn/+' });
    assert.deepEqual((await completed).subscriptions, []);
    const during = collect(h);
    const marked = nextMessage(helper.getNode('hm'));
    out.receive({ topic: 'dyn/a', payload: 'two' });
    out.receive({ topic: 'marker/dyn', payload: 'after two' });
    assert.equal((await marked).payload, 'after two');
    assert.deepEqual(during.stop(), [], 'nothing arrives after unsubscribe');
  });

  it('reports a rejected publish to a Catch node as a sentence with the code in msg.error, and the reason in the status', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '99', topicType: 'predefined', qos: '1', retain: '' },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['h']] },
      { id: 'h', type: 'helper' },
    ];
    await loadConnected(flow, ['out']);
    const outStatus = new StatusLog(helper.getNode('out'));
    const caught = nextMessage(helper.getNode('h'), 8000);
    helper.getNode('out').receive({ payload: 'to an id the gateway does not know' });
    const msg = await caught;
    const error = msg.error as { message: string; code: number; source: { id: string } };
    assert.equal(error.source.id, 'out');
    // A plain sentence naming the call, and the MQTT-SN code beside it.
    assert.match(error.message, /^publish failed: .*invalid topic id.* \(704\)$/);
    assert.equal(error.code, 704);
    // The status gives the reason in a few words.
    await outStatus.waitFor('red', 'dot');
    assert.deepEqual(outStatus.last, { fill: 'red', shape: 'dot', text: 'mqtt-sn.status.refused-topic-id' });
  });

  it('registers a new topic name once for a burst of publishes to it', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/burst', topicType: 'normal', qos: '1', retain: '' },
      { id: 'done', type: 'complete', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'hc', type: 'helper' },
    ];
    await loadConnected(flow, ['out']);
    const hc = helper.getNode('hc');
    const completed: Record<string, unknown>[] = [];
    const allDone = new Promise<void>((resolve) => {
      hc.on('input', (msg: Record<string, unknown>) => {
        completed.push(msg);
        if (completed.length === 5) resolve();
      });
    });
    const before = gateway.stats.received;
    for (let i = 0; i < 5; i++) helper.getNode('out').receive({ payload: i });
    await allDone;
    // One REGISTER and five PUBLISHes (five REGISTERs without sharing); a little room for retransmissions.
    const packets = gateway.stats.received - before;
    assert.ok(packets >= 6 && packets <= 8, `${packets} packets for 5 publishes`);
  });

  it('registers a topic name and outputs its id', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'reg', type: 'mqtt-sn register', broker: 'b', topic: '', wires: [['h']] },
      { id: 'h', type: 'helper' },
    ];
    await loadConnected(flow, ['reg']);
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('reg').receive({ topic: 'nodes/registered/name' });
    const msg = await received;
    assert.equal(msg.topic, 'nodes/registered/name');
    assert.equal(msg.topicIdType, 0);
    assert.ok(Number.isInteger(msg.topicId) && (msg.topicId as number) > 0);
  });

  it('sleeps, collects buffered messages on retrieve, and wakes', async function () {
    const flow = [
      brokerNode('sensor', port, { clientid: 'node-test-sleeper' }),
      brokerNode('pub', port),
      { id: 'in', type: 'mqtt-sn in', broker: 'sensor', topic: 'sleepy/inbox', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'sleep', type: 'mqtt-sn sleep', broker: 'sensor', duration: 30, wires: [['hs']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'pub', topic: 'sleepy/inbox', topicType: 'normal', qos: '1', retain: '' },
      { id: 'done', type: 'complete', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'sleep-errors', type: 'catch', scope: ['sleep'], uncaught: false, wires: [['he']] },
      { id: 'h', type: 'helper' },
      { id: 'hs', type: 'helper' },
      { id: 'hc', type: 'helper' },
      { id: 'he', type: 'helper' },
    ];
    await loadConnected(flow, ['in', 'out']);
    const sleepNode = helper.getNode('sleep');
    const sleepStatus = new StatusLog(sleepNode);
    const hs = helper.getNode('hs');
    const h = helper.getNode('h');

    let state = nextMessage(hs);
    sleepNode.receive({ action: 'sleep', duration: 30 });
    assert.equal((await state).state, 'asleep');
    await sleepStatus.waitFor('blue', 'ring');

    const early = collect(h);
    const out = helper.getNode('out');
    const hc = helper.getNode('hc');
    for (const payload of ['first', 'second']) {
      const acknowledged = nextMessage(hc);
      out.receive({ payload });
      await acknowledged;
    }
    await delay(300);
    assert.deepEqual(early.stop(), [], 'nothing is delivered while asleep');

    // The gateway hands over what it kept before it answers the retrieving PINGREQ.
    const collected = collect(h);
    state = nextMessage(hs);
    sleepNode.receive({ action: 'retrieve' });
    assert.equal((await state).state, 'asleep');
    assert.ok(sleepStatus.seen.some((s) => s.fill === 'blue' && s.shape === 'dot'), 'awake shown while retrieving');
    await until(() => collected.messages.length >= 2, 'the retrieved messages');
    assert.deepEqual(collected.stop().map((m) => m.payload), ['first', 'second']);

    state = nextMessage(hs);
    sleepNode.receive({ action: 'wake' });
    assert.equal((await state).state, 'connected');
    await sleepStatus.waitFor('green', 'dot');
    const live = nextMessage(h);
    out.receive({ payload: 'awake now' });
    assert.equal((await live).payload, 'awake now');

    // A retrieve while active (a timer that keeps firing after the wake) passes without an error.
    const errors = collect(helper.getNode('he'));
    state = nextMessage(hs);
    sleepNode.receive({ action: 'retrieve' });
    assert.equal((await state).state, 'connected');
    assert.deepEqual(sleepStatus.last, { fill: 'green', shape: 'dot', text: 'mqtt-sn.status.not-asleep' });
    await delay(100);
    assert.deepEqual(errors.stop(), [], 'no error for a retrieve while active');
  });

  it('rejects bad input with done(err) before sending anything', async function () {
    const flow = [
      brokerNode('b', port),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '', retain: '' },
      { id: 'sleep', type: 'mqtt-sn sleep', broker: 'b', duration: 30, wires: [[]] },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['h']] },
      { id: 'h', type: 'helper' },
    ];
    await loadConnected(flow, ['out']);
    const h = helper.getNode('h');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['out', { topic: 'a/+/b', payload: 1 }, /invalid-topic/],
      ['out', { topic: 'abc', topicIdType: 'short', qos: 1, payload: 1 }, /invalid-topic/],
      ['out', { topic: 'not/predefined', qos: -1, payload: 1 }, /QoS -1/],
      ['sleep', { action: 'nap' }, /invalid-sleep-action/],
    ];
    for (const [id, msg, pattern] of cases) {
      const caught = nextMessage(h);
      helper.getNode(id).receive(msg);
      const error = (await caught).error as { message: string };
      assert.match(error.message, pattern);
    }
  });
});
