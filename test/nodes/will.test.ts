/**
 * The config node's will: when the link to the gateway is lost without a
 * DISCONNECT, an MQTT subscriber on the gateway's broker receives it.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import { LossyRelay } from '../helpers/lossy-relay';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { brokerNode, helper, mqttSnNodes, onTab, startGateway, StatusLog } from './support';

describe('nodes: the will of the config node', function () {
  let gateway: MqttSnGateway;
  let relay: LossyRelay;
  const inboxes: MqttInbox[] = [];

  beforeEach(async function () {
    gateway = await startGateway();
    relay = await LossyRelay.start(gateway.address());
  });

  afterEach(async function () {
    await helper.unload();
    await Promise.all(inboxes.splice(0).map((inbox) => inbox.close()));
    await relay.stop();
    await gateway.stop();
  });

  it('is published, with its QoS and retain flag, when the client goes silent; the nodes show the loss', async function () {
    this.timeout(20000);
    const watcher = await MqttInbox.connect(gateway.brokerUrl);
    inboxes.push(watcher);
    await watcher.subscribe('nodes/will/+', 2);
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', relay.address().port, {
        keepalive: 1,
        willTopic: 'nodes/will/sensor',
        willPayload: 'sensor lost',
        willQos: '1',
        willRetain: true,
      }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/will/alive', topicType: 'normal', qos: '1', retain: '' },
    ]));
    const status = new StatusLog(helper.getNode('out'));
    await status.waitFor('green', 'dot');
    assert.equal(await watcher.none('nodes/will/sensor', 300), true, 'no will while the client is alive');

    // The link goes dead in both directions: no DISCONNECT reaches the gateway, and keep-alive expires.
    relay.rule = () => 'drop';
    const droppedAt = status.seen.length;
    // The client finds the gateway lost after keep alive (1 s) and RetryCount + 1 unanswered PINGREQs (3 × 1 s).
    const lost = status.waitFor('red', 'ring', 12000);
    const will = await watcher.next('nodes/will/sensor', 8000);
    assert.equal(will.payload.toString(), 'sensor lost');
    assert.equal(will.qos, 1);

    // Retained: a subscriber arriving later still gets it.
    const late = await MqttInbox.connect(gateway.brokerUrl);
    inboxes.push(late);
    const retained = late.next('nodes/will/sensor');
    await late.subscribe('nodes/will/sensor', 1);
    const message = await retained;
    assert.equal(message.payload.toString(), 'sensor lost');
    assert.equal(message.retain, true);

    await lost;
    assert.deepEqual(
      status.seen[droppedAt],
      { fill: 'red', shape: 'ring', text: 'mqtt-sn.status.gateway-lost' },
      'the first status after the link died says why',
    );
  });

  it('is not published when the flow stops and the client disconnects', async function () {
    const watcher = await MqttInbox.connect(gateway.brokerUrl);
    inboxes.push(watcher);
    await watcher.subscribe('nodes/will/+', 2);
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', relay.address().port, { keepalive: 1, willTopic: 'nodes/will/clean', willPayload: 'gone', willQos: '0', willRetain: false }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'nodes/will/alive', topicType: 'normal', qos: '1', retain: '' },
    ]));
    await new StatusLog(helper.getNode('out')).waitFor('green', 'dot');
    await helper.unload();
    assert.equal(await watcher.none('nodes/will/clean', 2000), true, 'a DISCONNECT discards the will');
  });
});
