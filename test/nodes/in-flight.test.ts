/**
 * Max in flight: the out node's publishes share the client's in-flight
 * window instead of waiting one behind another. A relay in front of the real
 * gateway holds back PUBACKs so that the publishes stay outstanding, and an
 * MQTT.js subscriber checks what the broker got, retain flags included.
 */
import * as assert from 'node:assert/strict';
import type { Packet } from '../../lib/codec/packets';
import type { MqttSnGateway } from '../../lib/gateway';
import { LossyRelay } from '../helpers/lossy-relay';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { brokerNode, delay, helper, mqttSnNodes, onTab, startGateway, StatusLog, until } from './support';

type PublishPacket = Extract<Packet, { type: 'PUBLISH' }>;

function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}

describe('nodes: max in flight', function () {
  this.timeout(20000);
  let gateway: MqttSnGateway;
  let relay: LossyRelay;
  let holdPubacks = false;

  beforeEach(async function () {
    gateway = await startGateway();
    holdPubacks = false;
    relay = await LossyRelay.start(gateway.address(), (packet, direction) =>
      holdPubacks && direction === 'down' && packet.type === 'PUBACK' ? 'drop' : 'forward',
    );
  });

  afterEach(async function () {
    await helper.unload();
    await relay.stop();
    await gateway.stop();
  });

  /** An out node (QoS 1, retain from msg.retain) on a config node with this window, connected. */
  async function loadOut(maxInFlight: number): Promise<void> {
    const flow = [
      // Retries late enough that the first ones do not blur the count of what is outstanding.
      brokerNode('b', relay.address().port, { maxInFlight, retryInterval: 2, retryCount: 4, timeout: 10 }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: '', topicType: 'normal', qos: '1', retain: '' },
    ];
    await helper.load([mqttSnNodes], onTab(flow));
    await new StatusLog(helper.getNode('out')).waitFor('green', 'dot');
  }

  /** The distinct QoS 1 PUBLISHes (by message id) the client has sent to `topicId`. */
  function publishesSent(topicId: number): Set<number> {
    const ids = relay
      .packets('PUBLISH', 'up')
      .filter((p): p is PublishPacket => p.type === 'PUBLISH' && p.qos === 1 && p.topicId === topicId)
      .map((p) => p.msgId);
    return new Set(ids);
  }

  /** Registers `topic` with a first publish (acknowledged) and returns its id. */
  async function firstPublish(inbox: MqttInbox, topic: string): Promise<number> {
    helper.getNode('out').receive({ topic, payload: 'first' });
    await inbox.next(topic);
    // The broker's subscriber may hear it before the PUBACK has passed the relay: wait for
    // that PUBACK, or holding PUBACKs would keep this publish in the window too.
    const first = relay.packets('PUBLISH', 'up').find((p): p is PublishPacket => p.type === 'PUBLISH' && p.payload.toString() === 'first');
    assert.ok(first, 'the first publish went through the relay');
    await until(() => relay.packets('PUBACK', 'down').some((p) => p.type === 'PUBACK' && p.msgId === first.msgId), 'the first PUBACK', 10000);
    const register = relay.packets('REGISTER', 'up').find((p) => p.type === 'REGISTER' && p.topicName === topic);
    const regack = relay.packets('REGACK', 'down')[0];
    assert.ok(register && regack && regack.type === 'REGACK', 'the topic was registered');
    return regack.topicId;
  }

  for (const [maxInFlight, outstanding] of [
    [5, 5],
    [1, 1],
  ] as const) {
    it(`keeps ${outstanding} PUBLISH${outstanding > 1 ? 'es' : ''} outstanding at once with Max in flight ${maxInFlight}`, async function () {
      const inbox = await MqttInbox.connect(gateway.brokerUrl);
      try {
        const topic = uniq('nodes/mif');
        await inbox.subscribe(topic, 1);
        await loadOut(maxInFlight);
        const topicId = await firstPublish(inbox, topic);
        const before = publishesSent(topicId).size;
        holdPubacks = true;
        for (let i = 0; i < 5; i++) helper.getNode('out').receive({ topic, payload: `m${i}` });
        // Retransmissions reuse their message ids and the window only moves on after 4 retries
        // of 2 s, so a slow machine may take its time here without blurring the count.
        await until(() => publishesSent(topicId).size - before >= outstanding, `${outstanding} outstanding`, 6000);
        // Within the retry interval nothing more may go out while no PUBACK arrives.
        await delay(600);
        assert.equal(publishesSent(topicId).size - before, outstanding);
        holdPubacks = false;
        // Retransmissions are acknowledged now; every message arrives, first copies in order
        // (QoS 1 is at least once: a retransmitted PUBLISH may reach the broker twice).
        const got: string[] = [];
        while (got.length < 5) {
          const text = (await inbox.next(topic, 12000)).payload.toString();
          if (!got.includes(text)) got.push(text);
        }
        assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
      } finally {
        await inbox.close();
      }
    });
  }

  it('gives each of several concurrent publishes its own msg.retain', async function () {
    const inbox = await MqttInbox.connect(gateway.brokerUrl);
    const topics = [uniq('nodes/kept'), uniq('nodes/not-kept'), uniq('nodes/kept'), uniq('nodes/not-kept')];
    const retainOf = (i: number) => i % 2 === 0;
    try {
      for (const topic of topics) await inbox.subscribe(topic, 1);
      await loadOut(5);
      topics.forEach((topic, i) => helper.getNode('out').receive({ topic, payload: `p${i}`, retain: retainOf(i) }));
      for (const topic of topics) await inbox.next(topic, 8000);
    } finally {
      await inbox.close();
    }
    // A subscriber that comes later gets exactly the retained ones, flagged retain.
    const late = await MqttInbox.connect(gateway.brokerUrl);
    try {
      for (const topic of topics) await late.subscribe(topic, 1);
      for (let i = 0; i < topics.length; i++) {
        if (retainOf(i)) {
          const message = await late.next(topics[i]);
          assert.equal(message.payload.toString(), `p${i}`);
          assert.equal(message.retain, true);
        } else {
          assert.equal(await late.none(topics[i], 300), true, `${topics[i]} not retained`);
        }
      }
    } finally {
      await late.close();
    }
  });
});
