/**
 * The out node's QoS 2 through a link that loses 20 % of the packets,
 * duplicates 10 % and holds some back for up to twice the retry interval:
 * every message reaches the broker exactly once.
 */
import * as assert from 'node:assert/strict';
import type { MqttSnGateway } from '../../lib/gateway';
import { impairedLink } from '../helpers/impairment';
import { LossyRelay } from '../helpers/lossy-relay';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { uniq } from '../client/support';
import { brokerNode, delay, helper, mqttSnNodes, onTab, startGateway, StatusLog, until } from './support';

const MESSAGES = 100;
// The node takes whole seconds.
const RETRY_S = 1;

describe('nodes: the out node publishes QoS 2 exactly once through an impaired link', function () {
  this.timeout(120000);
  let gateway: MqttSnGateway;
  let relay: LossyRelay;
  let inbox: MqttInbox;

  beforeEach(async function () {
    gateway = await startGateway();
    relay = await LossyRelay.start(gateway.address());
    inbox = await MqttInbox.connect(gateway.brokerUrl);
  });

  afterEach(async function () {
    await helper.unload();
    await inbox.close();
    await relay.stop();
    await gateway.stop();
  });

  it(`${MESSAGES} QoS 2 messages: none lost, none twice`, async function () {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const link = impairedLink({ loss: 0.2, duplicate: 0.1, reorder: 0.2, maxDelayMs: 2 * RETRY_S * 1000, seed });
    const topic = uniq('nodes/eo');
    const copies = new Map<string, number>();
    inbox.client.on('message', (t, payload) => {
      if (t === topic) copies.set(payload.toString(), (copies.get(payload.toString()) ?? 0) + 1);
    });
    await inbox.subscribe(topic, 2);
    const flow = [
      brokerNode('b', relay.address().port, { maxInFlight: 10, retryInterval: RETRY_S, retryCount: 20, timeout: 60 }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic, topicType: 'normal', qos: '2', retain: 'false' },
    ];
    await helper.load([mqttSnNodes], onTab(flow));
    await new StatusLog(helper.getNode('out')).waitFor('green', 'dot');
    relay.rule = link.rule;
    for (let seq = 0; seq < MESSAGES; seq++) helper.getNode('out').receive({ payload: String(seq) });
    await until(() => copies.size === MESSAGES, 'every message at the broker', 90000);
    await delay(4 * RETRY_S * 1000 + 500);
    let duplicated = 0;
    for (const n of copies.values()) duplicated += n - 1;
    console.log(`      out node QoS 2: ${MESSAGES} sent, ${MESSAGES - copies.size} lost, ${duplicated} duplicated (link: ${link.counts.lost} packets lost, ${link.counts.duplicated} duplicated, ${link.counts.delayed} delayed; seed ${seed})`);
    assert.equal(duplicated, 0);
  });
});
