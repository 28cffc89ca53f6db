/**
 * QoS -1 needs no connection: an out node publishes from the first message,
 * while the gateway refuses or ignores its CONNECT.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import { LossyRelay } from '../helpers/lossy-relay';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { MQTTSN } from '../../lib/client';
import { brokerNode, helper, mqttSnNodes, nextMessage, onTab, PREDEFINED, startGateway, StatusLog } from './support';

function outNodes(broker: string): Record<string, unknown>[] {
  return [
    { id: 'short-out', type: 'mqtt-sn out', broker, topic: 'qa', topicType: 'short', qos: '-1', retain: '' },
    { id: 'pre-out', type: 'mqtt-sn out', broker, topic: 'test/predefined/one', topicType: 'predefined', qos: '-1', retain: '' },
    // QoS from the message: the node leaves it open.
    { id: 'any-out', type: 'mqtt-sn out', broker, topic: '', topicType: 'short', qos: '', retain: '' },
    { id: 'completer', type: 'complete', scope: ['short-out', 'pre-out', 'any-out'], uncaught: false, wires: [['hd']] },
    { id: 'hd', type: 'helper' },
  ];
}

/** Sends one message to each out node at once, and returns how each finished. */
function publishAll(): Promise<Record<string, unknown>[]> {
  const completed: Record<string, unknown>[] = [];
  const finished = new Promise<Record<string, unknown>[]>((resolve) => {
    helper.getNode('hd').on('input', (msg: Record<string, unknown>) => {
      completed.push(msg);
      if (completed.length === 3) resolve(completed);
    });
  });
  helper.getNode('short-out').receive({ payload: 'short' });
  helper.getNode('pre-out').receive({ payload: 'predefined' });
  helper.getNode('any-out').receive({ topic: 'qb', qos: -1, payload: 'from msg' });
  return finished;
}

async function expectAll(inbox: MqttInbox): Promise<void> {
  assert.equal((await inbox.next('qa')).payload.toString(), 'short');
  assert.equal((await inbox.next(PREDEFINED['1'])).payload.toString(), 'predefined');
  assert.equal((await inbox.next('qb')).payload.toString(), 'from msg');
}

describe('nodes: QoS -1 without a connection', function () {
  let gateway: MqttSnGateway;
  let inbox: MqttInbox;

  beforeEach(async function () {
    gateway = await startGateway({ predefined: PREDEFINED, clients: 1 });
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    await inbox.subscribe('#', 0);
  });

  afterEach(async function () {
    await helper.unload();
    await inbox.close();
    await gateway.stop();
  });

  it('publishes from the first message while the gateway refuses the connection', async function () {
    // The gateway takes one client: a plain client holds the place.
    const holder = new MQTTSN();
    holder.remoteHost = '127.0.0.1';
    holder.remotePort = gateway.address().port;
    holder.clientId = 'place-holder';
    await holder.connect();
    try {
      await helper.load([mqttSnNodes], onTab([brokerNode('b', gateway.address().port, { timeout: 2 }), ...outNodes('b')]));
      const status = new StatusLog(helper.getNode('short-out'));
      const completed = await publishAll();
      assert.equal(completed.length, 3, 'done() for each message');
      await expectAll(inbox);
      await status.waitFor('red', 'dot', 10000);
    } finally {
      await holder.disconnect();
    }
  });

  it('publishes after a disconnect action, with no session at all', async function () {
    await helper.load([mqttSnNodes], onTab([brokerNode('b', gateway.address().port), ...outNodes('b')]));
    const status = new StatusLog(helper.getNode('short-out'));
    await status.waitFor('green', 'dot');
    const disconnected = nextMessage(helper.getNode('hd'));
    helper.getNode('short-out').receive({ action: 'disconnect' });
    await disconnected;
    assert.equal(gateway.clientCount, 0);
    await publishAll();
    await expectAll(inbox);
    assert.equal(gateway.clientCount, 0, 'still no session');
  });

  it('publishes from the first message while the gateway never answers CONNECT', async function () {
    const relay = await LossyRelay.start(gateway.address(), (packet) => (packet.type === 'CONNECT' ? 'drop' : 'forward'));
    try {
      await helper.load([mqttSnNodes], onTab([brokerNode('b', relay.address().port, { timeout: 3 }), ...outNodes('b')]));
      const status = new StatusLog(helper.getNode('short-out'));
      await publishAll();
      await expectAll(inbox);
      // All of it happened during the first attempt to connect.
      assert.deepEqual(status.last, { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' });
      assert.equal(relay.packets('CONNECT', 'up').length > 0, true, 'a connection was being attempted');
    } finally {
      await helper.unload();
      await relay.stop();
    }
  });
});
