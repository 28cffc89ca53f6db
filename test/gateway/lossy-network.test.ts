/**
 * The gateway over a bad network: the in-memory network loses, duplicates
 * and reorders datagrams between the gateway and a client (seeded, so every
 * run is the same), and the gateway's retransmission still delivers every
 * QoS 1 and QoS 2 message, the QoS 2 ones exactly once.
 */
import * as assert from 'node:assert';
import { MqttSnGateway } from '../../lib/gateway';
import { MemoryNetwork } from '../../lib/transport/memory';
import { RawClient } from '../helpers/gateway-raw-client';
import { MqttInbox } from '../helpers/mqtt-inbox';
import { until } from '../helpers/until';

describe('gateway over a lossy memory network', function () {
  this.timeout(30000);
  let network: MemoryNetwork;
  let gateway: MqttSnGateway;
  let inbox: MqttInbox;
  let client: RawClient;

  beforeEach(async () => {
    network = new MemoryNetwork({ seed: 42 });
    gateway = new MqttSnGateway({ transport: network.factory, host: '127.0.0.1', port: 0, retry: { interval: 50, count: 20 }, logLevel: 'error' });
    await gateway.start();
    inbox = await MqttInbox.connect(gateway.brokerUrl);
    client = await RawClient.open(gateway.address().port, '127.0.0.1', 0, { transport: network.factory });
  });

  afterEach(async () => {
    await RawClient.closeAll([client]);
    await inbox.close();
    await gateway.stop();
    network.close();
  });

  for (const qos of [1, 2] as const) {
    it(`delivers 40 QoS ${qos} messages through 20 % loss, 10 % duplication and 10 % reordering${qos === 2 ? ', each once' : ''}`, async () => {
      await client.connect('survivor', 600);
      const suback = await client.request({ type: 'SUBSCRIBE', dup: false, qos, topicIdType: 0, msgId: 1, topicId: 'lossy' }, 'SUBACK');
      network.condition({ loss: 0.2, duplicate: 0.1, reorder: 0.1 });

      // The client side of QoS 1 and 2, answering every copy (its answers get lost too).
      // Each message's msgIds: a message sent again under a new msgId would reach an application twice.
      const msgIds = new Map<string, Set<number>>();
      const released = new Set<number>();
      const answer = (): void => {
        for (let packet = client.inbox.shift(); packet; packet = client.inbox.shift()) {
          if (packet.type === 'PUBLISH') {
            const text = packet.payload.toString();
            msgIds.set(text, (msgIds.get(text) ?? new Set()).add(packet.msgId));
            if (qos === 1) client.send({ type: 'PUBACK', topicId: suback.topicId, msgId: packet.msgId, returnCode: 0 });
            else client.send({ type: 'PUBREC', msgId: packet.msgId });
          } else if (packet.type === 'PUBREL') {
            released.add(packet.msgId);
            client.send({ type: 'PUBCOMP', msgId: packet.msgId });
          }
        }
      };
      const sent = [...Array(40).keys()].map((i) => `m${i}`);
      for (const text of sent) await inbox.publish('lossy', text, qos);
      await until(() => {
        answer();
        return msgIds.size === sent.length && (qos === 1 || released.size === sent.length);
      }, 'every message', 20000);

      assert.deepStrictEqual([...msgIds.keys()].sort(), [...sent].sort());
      for (const [text, ids] of msgIds) assert.strictEqual(ids.size, 1, `${text} was sent as ${ids.size} messages`);
      assert.strictEqual(gateway.stats.undelivered, 0);
      assert.ok(network.stats.lost > 0 && network.stats.duplicated > 0 && network.stats.reordered > 0, JSON.stringify(network.stats));
      assert.ok(gateway.stats.retransmissions > 0);
    });
  }
});
