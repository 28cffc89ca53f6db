/**
 * msg.action 'connect' / 'disconnect' on the in (dynamic) and out nodes, as
 * the core MQTT nodes take them.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import { brokerNode, delay, helper, mqttSnNodes, nextMessage, onTab, startGateway, StatusLog } from './support';

describe('nodes: connect and disconnect actions', function () {
  let gateway: MqttSnGateway;
  let port: number;

  before(async function () {
    gateway = await startGateway();
    port = gateway.address().port;
  });

  after(async function () {
    await gateway.stop();
  });

  afterEach(async function () {
    await helper.unload();
  });

  const flow = () => [
    brokerNode('b', port),
    { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: '', topicType: 'normal', qos: '1', datatype: 'utf8', inputs: 1, wires: [['h']] },
    { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'actions/t', topicType: 'normal', qos: '1', retain: '' },
    { id: 'completer', type: 'complete', scope: ['in', 'out'], uncaught: false, wires: [['hc']] },
    { id: 'catcher', type: 'catch', scope: ['in', 'out'], uncaught: false, wires: [['he']] },
    { id: 'h', type: 'helper' },
    { id: 'hc', type: 'helper' },
    { id: 'he', type: 'helper' },
  ];

  it('disconnects on request and stays disconnected until asked to connect; subscriptions come back', async function () {
    this.timeout(15000);
    await helper.load([mqttSnNodes], onTab(flow()));
    const inNode = helper.getNode('in');
    const status = new StatusLog(inNode);
    await status.waitFor('green', 'dot');
    let completed = nextMessage(helper.getNode('hc'));
    inNode.receive({ action: 'subscribe', topic: 'actions/t' });
    await completed;

    completed = nextMessage(helper.getNode('hc'));
    inNode.receive({ action: 'disconnect' });
    await completed;
    assert.deepEqual(status.last, { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' });
    assert.equal(gateway.clientCount, 0, 'the gateway saw the DISCONNECT');
    // Longer than the first reconnect delay: a requested disconnect is not undone on its own.
    await delay(1500);
    assert.equal(gateway.clientCount, 0);
    assert.deepEqual(status.last, { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' });

    completed = nextMessage(helper.getNode('hc'));
    inNode.receive({ action: 'connect' });
    await completed;
    assert.deepEqual(status.last, { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' });
    assert.equal(gateway.clientCount, 1);
    // The connect action completes once the subscriptions are restored.
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: 'after reconnecting' });
    const msg = await received;
    assert.equal(msg.topic, 'actions/t');
    assert.equal(msg.payload, 'after reconnecting');
  });

  it('takes the actions on the out node too, which then publishes nothing', async function () {
    this.timeout(15000);
    await helper.load([mqttSnNodes], onTab(flow()));
    const out = helper.getNode('out');
    const status = new StatusLog(out);
    await status.waitFor('green', 'dot');
    let completed = nextMessage(helper.getNode('hc'));
    out.receive({ action: 'disconnect', payload: 'not published' });
    await completed;
    assert.equal(gateway.clientCount, 0);

    // Publishing needs the connection back.
    const caught = nextMessage(helper.getNode('he'));
    out.receive({ payload: 'while disconnected' });
    assert.match(((await caught).error as { message: string }).message, /not connected/);

    completed = nextMessage(helper.getNode('hc'));
    out.receive({ action: 'connect' });
    await completed;
    assert.equal(gateway.clientCount, 1);
    completed = nextMessage(helper.getNode('hc'));
    out.receive({ action: 'connect' });
    await completed;
    assert.equal(gateway.clientCount, 1, 'connect when connected changes nothing');
  });

  it('refuses unknown actions and msg.broker with done(err)', async function () {
    await helper.load([mqttSnNodes], onTab(flow()));
    await new StatusLog(helper.getNode('in')).waitFor('green', 'dot');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['out', { action: 'jump', payload: 1 }, /invalid-action-action/],
      ['in', { action: 'connect', broker: { broker: 'elsewhere' } }, /invalid-action-broker/],
      ['out', { action: 'connect', broker: { broker: 'elsewhere' } }, /invalid-action-broker/],
    ];
    for (const [id, msg, pattern] of cases) {
      const caught = nextMessage(helper.getNode('he'));
      helper.getNode(id).receive(msg);
      assert.match(((await caught).error as { message: string }).message, pattern);
    }
  });
});
