/**
 * Every bad input is refused with its code before a packet leaves: the
 * client talks to the real gateway through a relay that records every
 * packet, and the record must not grow.
 */
import * as assert from 'node:assert/strict';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { MQTTSN } from '../../lib/client';
import { LossyRelay } from '../helpers/lossy-relay';
import { NETS, nextEvent, startRig, udpListener, type Rig } from './support';

function code(expected: number): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof MqttSnError, `an MqttSnError, not ${String(e)}`);
    assert.equal(e.code, expected, e.description);
    assert.equal(typeof e.description, 'string');
    return true;
  };
}

for (const net of NETS) describe(`MQTTSN client: bad input (${net.name})`, function () {
  this.timeout(10000);
  let rig: Rig;
  let relay: LossyRelay;
  let client: MQTTSN;
  let topicId: number;

  before(async () => {
    rig = await startRig('embedded', {}, net);
    relay = await LossyRelay.start({ address: '127.0.0.1', port: rig.port }, undefined, rig.net.transport);
    client = rig.client();
    await client.connectTo('127.0.0.1', relay.address().port);
    topicId = await client.registerTopic('bad/input');
  });

  after(async () => {
    client.reset();
    await relay.stop();
    await rig.stop();
  });

  /** Runs `call`, expects `expected`, and checks that nothing was sent meanwhile. */
  async function refused(call: () => Promise<unknown>, expected: number): Promise<void> {
    const before = relay.seen.length;
    await assert.rejects(call(), code(expected));
    assert.equal(relay.seen.length, before, 'no packet was sent');
  }

  it('refuses bad topic names for registerTopic', async () => {
    await refused(() => client.registerTopic('a/+/b'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.registerTopic('a/#'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.registerTopic('a\u0000b'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.registerTopic(''), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.registerTopic('x'.repeat(70000)), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.registerTopic(42 as unknown as string), ErrorCode.INVALID_ARGUMENT);
  });

  it('refuses bad publish targets, QoS and payloads', async () => {
    await refused(() => client.publishMessage('abc', 2, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage('a', 2, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage('a+', 2, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage('é', 2, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(0, 0, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(65535, 1, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage('a/b', 0, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 3 as 0, 0, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 0, 3, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 0, -2, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 0, -1, 'x'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 0, 1, Buffer.from('x') as unknown as string), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishData(topicId, 0, 1, 'x' as unknown as Buffer), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishData(topicId, 0, 1, Buffer.alloc(65499)), ErrorCode.MESSAGE_TOO_LONG);
    await refused(() => client.publishMessage(topicId, 0, 1, 'x', { retain: 'yes' as unknown as boolean }), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishMessage(topicId, 0, 1, 'x', { retain: 1 as unknown as boolean }), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.publishData(topicId, 0, 1, Buffer.from('x'), null as unknown as { retain: boolean }), ErrorCode.INVALID_ARGUMENT);
    // Up to 255 octets a packet has a 1-octet length, so 7 octets of PUBLISH header; above, 9.
    client.config('MaxPacketSize=100');
    try {
      await refused(() => client.publishData(topicId, 0, 1, Buffer.alloc(94)), ErrorCode.MESSAGE_TOO_LONG);
      await client.publishData(topicId, 0, 1, Buffer.alloc(93));
      client.config('MaxPacketSize=256');
      await refused(() => client.publishData(topicId, 0, 1, Buffer.alloc(249)), ErrorCode.MESSAGE_TOO_LONG);
      await client.publishData(topicId, 0, 1, Buffer.alloc(248));
      client.config('MaxPacketSize=300');
      await refused(() => client.publishData(topicId, 0, 1, Buffer.alloc(292)), ErrorCode.MESSAGE_TOO_LONG);
      await client.publishData(topicId, 0, 1, Buffer.alloc(291));
    } finally {
      client.config('MaxPacketSize=65507');
    }
  });

  it('refuses bad subscriptions', async () => {
    await refused(() => client.subscribe('a/b', 0, -1), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('a/b', 0, 3), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('a/#/b', 0, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('a/b+', 0, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('', 0, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('a\u0000', 0, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe('abc', 2, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.subscribe(0, 1, 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.unsubscribe('+/#/x', 0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.unsubscribe('a', 5 as 0), ErrorCode.INVALID_ARGUMENT);
  });

  it('refuses calls in the wrong state', async () => {
    await refused(() => client.connect(), ErrorCode.UDP_ALREADY_ACTIVE);
    await refused(() => client.retrieveMessages(), ErrorCode.WRONG_STATE);
    await refused(() => client.stopSleep(), ErrorCode.WRONG_STATE);
    await refused(() => client.startSleep(0), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.startSleep(70000), ErrorCode.INVALID_ARGUMENT);
    assert.throws(() => {
      client.localPort = 1234;
    }, code(ErrorCode.LOCAL_PORT_WHILE_ACTIVE));
    assert.throws(() => {
      client.localHost = '127.0.0.1';
    }, code(ErrorCode.LOCAL_HOST_WHILE_ACTIVE));
    assert.throws(() => {
      client.keepAliveInterval = 5;
    }, code(ErrorCode.WRONG_STATE));
  });

  it('refuses bad discovery arguments', async () => {
    await refused(() => client.discoverGateway(256), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.sendDiscoverResponse(1, 'nonsense'), ErrorCode.INVALID_ARGUMENT);
    await refused(() => client.sendDiscoverResponse(300, '127.0.0.1:1'), ErrorCode.INVALID_ARGUMENT);
  });

  it('refuses bad property values and configuration settings', () => {
    const fresh = new MQTTSN();
    assert.throws(() => (fresh.clientId = 'x'.repeat(24)), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.keepAliveInterval = -1), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.keepAliveInterval = 65536), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.remotePort = 70000), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.localPort = -1), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.timeout = -1), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => (fresh.cleanSession = 'yes' as unknown as boolean), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('NoSuchSetting=1'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('NoSuchSetting'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('WillQOS=3'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('Retain=maybe'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('MaxInFlight=0'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('RetryInterval=abc'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('PredefinedTopics=0=a'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('PredefinedTopics=x'), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => fresh.config('Gateways=nohost'), code(ErrorCode.INVALID_ARGUMENT));
    assert.equal(fresh.config('WillQOS'), '0', 'a refused value leaves the setting as it was');
  });

  describe('without a connection', () => {
    let silent: Awaited<ReturnType<typeof udpListener>>;
    let idle: MQTTSN;

    beforeEach(async () => {
      silent = await udpListener('127.0.0.1', rig.net.transport);
      idle = new MQTTSN({ transport: rig.net.transport });
      idle.remoteHost = '127.0.0.1';
      idle.remotePort = silent.port;
    });

    afterEach(async () => {
      idle.reset();
      await silent.close();
      assert.equal(silent.received.length, 0, 'nothing reached the gateway address');
    });

    it('refuses session calls with NOT_CONNECTED', async () => {
      await assert.rejects(idle.registerTopic('a/b'), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.publishMessage(1, 0, 0, 'x'), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.publishMessage('ab', 2, 1, 'x'), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.subscribe('a/b', 0, 1), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.unsubscribe('a/b', 0), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.ping(), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.startSleep(10), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.updateWillTopic(), code(ErrorCode.NOT_CONNECTED));
      await assert.rejects(idle.updateWillMessage(), code(ErrorCode.NOT_CONNECTED));
    });

    it('refuses a connect it cannot make', async () => {
      idle.cleanSession = false;
      await assert.rejects(idle.connect(), code(ErrorCode.INVALID_ARGUMENT));
      idle.cleanSession = true;
      idle.willTopic = 'will/+';
      await assert.rejects(idle.connect(), code(ErrorCode.INVALID_ARGUMENT));
      idle.willTopic = '';
      idle.remoteHost = '';
      await assert.rejects(idle.connect(), code(ErrorCode.NO_GATEWAY));
      await assert.rejects(idle.publishMessage('ab', 2, -1, 'x'), code(ErrorCode.NO_GATEWAY));
      await assert.rejects(idle.connectTo('', 1), code(ErrorCode.INVALID_ARGUMENT));
      await assert.rejects(idle.connectTo('127.0.0.1', 0), code(ErrorCode.INVALID_ARGUMENT));
      await assert.rejects(idle.connectTo('no-such-host.invalid', 1883), code(ErrorCode.DNS_FAILED));
    });
  });

  it('reports malformed and too-short datagrams as error events and carries on', async () => {
    const tooShort = nextEvent(client, 'error');
    relay.injectToClients(Buffer.from([2]));
    assert.equal((await tooShort).errorCode, ErrorCode.MESSAGE_TOO_SHORT);
    const malformed = nextEvent(client, 'error');
    relay.injectToClients(Buffer.from([5, 0x0d, 0, 0, 0]));
    const event = await malformed;
    assert.ok(event.errorCode >= 600 && event.errorCode < 700, `a codec error, got ${event.errorCode}`);
    await client.ping();
  });
});
