/**
 * The config node as the core MQTT one: the birth message on each
 * connection, the close message before a requested disconnect, "Connect
 * automatically" off (no connection until a 'connect' action), and the reason
 * a connection failed in its users' status.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { freeUdpPort } from '../helpers/net';
import { brokerNode, helper, mqttSnNodes, nextMessage, onTab, startGateway, StatusLog, until } from './support';

describe('nodes: birth, close, Connect automatically, why a connection failed', function () {
  this.timeout(20000);
  let gateway: MqttSnGateway;
  let watcher: MqttInbox;

  beforeEach(async function () {
    gateway = await startGateway();
    watcher = await MqttInbox.connect(gateway.brokerUrl);
    await watcher.subscribe('nodes/presence/#', 1);
  });

  afterEach(async function () {
    await helper.unload();
    await watcher.close();
    await gateway.stop();
  });

  const announcing = {
    birthTopic: 'nodes/presence/sensor',
    birthPayload: 'online',
    birthQos: '1',
    birthRetain: 'false',
    closeTopic: 'nodes/presence/sensor',
    closePayload: 'offline',
    closeQos: '1',
    closeRetain: 'true',
  };

  it('publishes the birth message on connecting and the close message before a disconnect action', async function () {
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', gateway.address().port, announcing),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/presence/data', topicType: 'normal', qos: '1', retain: '' },
      { id: 'completer', type: 'complete', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'hc', type: 'helper' },
    ]));
    const birth = await watcher.next('nodes/presence/sensor');
    assert.equal(birth.payload.toString(), 'online');
    assert.equal(birth.retain, false);

    const disconnected = nextMessage(helper.getNode('hc'), 8000);
    helper.getNode('out').receive({ action: 'disconnect' });
    await disconnected;
    const close = await watcher.next('nodes/presence/sensor');
    assert.equal(close.payload.toString(), 'offline');
  });

  it('with Connect automatically off, stays disconnected until a connect action, then connects and announces itself', async function () {
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', gateway.address().port, { ...announcing, autoConnect: false }),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: '', topicType: 'normal', qos: '1', datatype: 'utf8', inputs: 1, wires: [[]] },
      { id: 'completer', type: 'complete', scope: ['in'], uncaught: false, wires: [['hc']] },
      { id: 'hc', type: 'helper' },
    ]));
    const status = new StatusLog(helper.getNode('in'));
    // Long enough for a connection to show had one been started.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(gateway.clientCount, 0, 'no client on the gateway');
    assert.ok(status.seen.every((s) => s.fill !== 'green' && s.fill !== 'yellow'), JSON.stringify(status.seen));

    const connected = nextMessage(helper.getNode('hc'), 8000);
    helper.getNode('in').receive({ action: 'connect' });
    await connected;
    await status.waitFor('green', 'dot');
    assert.equal((await watcher.next('nodes/presence/sensor')).payload.toString(), 'online');
  });

  it('says "port closed" at once when nothing listens on the gateway port', async function () {
    const port = await freeUdpPort();
    await helper.load([mqttSnNodes], onTab([
      // Retransmissions 5 s apart: only the port unreachable can end the attempt sooner.
      brokerNode('b', port, { retryInterval: 5, retryCount: 3, timeout: 30 }),
      // An id of its own: a StatusLog also reads the statuses earlier tests' nodes of that id showed.
      { id: 'closed-out', type: 'mqtt-sn out', broker: 'b', topic: 'x/y', topicType: 'normal', qos: '1', retain: '' },
    ]));
    const status = new StatusLog(helper.getNode('closed-out'));
    const started = Date.now();
    const portClosed = (st: { fill?: string; shape?: string; text?: string }) =>
      st.fill === 'red' && st.shape === 'ring' && st.text === 'mqtt-sn.status.port-closed';
    await until(() => status.seen.some(portClosed), 'a red ring saying "port closed"', 4500);
    assert.ok(Date.now() - started < 4500, 'before the first retransmission would have gone out');
  });
});
