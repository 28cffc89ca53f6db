/**
 * The config node's life: connect on first use, survive a gateway restart,
 * disconnect when its users go; and the gateway node.
 */
import * as assert from 'node:assert/strict';
import { MQTTSN } from '../../lib/client';
import type { MqttSnGateway } from '../../lib/gateway';
import { freeUdpPort } from '../helpers/net';
import { brokerNode, delay, helper, mqttSnNodes, nextMessage, onTab, startGateway, StatusLog, until } from './support';

describe('nodes: connection life cycle', function () {
  let gateway: MqttSnGateway | undefined;

  afterEach(async function () {
    await helper.unload();
    await gateway?.stop();
    gateway = undefined;
  });

  it('does not connect without users, and disconnects when the last user is removed', async function () {
    gateway = await startGateway();
    const port = gateway.address().port;
    await helper.load([mqttSnNodes], onTab([brokerNode('lonely', port)]));
    await delay(300);
    assert.equal(gateway.clientCount, 0, 'a config node alone stays idle');
    await helper.unload();

    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', port),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'life/x', topicType: 'normal', qos: '0', retain: '' },
    ]));
    await new StatusLog(helper.getNode('out')).waitFor('green', 'dot');
    assert.equal(gateway.clientCount, 1);
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 5000, 'close is bounded');
    await until(() => gateway?.clientCount === 0, 'the gateway to see the client go');
  });

  it('survives a gateway restart on the same port: red ring, then reconnects and resubscribes', async function () {
    this.timeout(30000);
    gateway = await startGateway();
    const port = gateway.address().port;
    const flow = [
      brokerNode('b', port, { keepalive: 1 }),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'restart/t', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'restart/t', topicType: 'normal', qos: '1', retain: '' },
      { id: 'h', type: 'helper' },
    ];
    await helper.load([mqttSnNodes], onTab(flow));
    const status = new StatusLog(helper.getNode('in'));
    await status.waitFor('green', 'dot');
    let received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: 'before' });
    assert.equal((await received).payload, 'before');

    await gateway.stop();
    await status.waitFor('red', 'ring', 15000);
    gateway = await startGateway({ port });
    await status.waitFor('green', 'dot', 15000);
    // No pause: the resubscription goes out before anything published once "connected" shows.
    received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: 'after' });
    assert.equal((await received).payload, 'after');
  });

  it('holds a publish while reconnecting, and completes it once connected again', async function () {
    this.timeout(30000);
    gateway = await startGateway();
    const port = gateway.address().port;
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', port, { keepalive: 1, timeout: 8 }),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'held/t', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'held/t', topicType: 'normal', qos: '1', retain: '' },
      { id: 'completer', type: 'complete', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'catcher', type: 'catch', scope: ['out'], uncaught: false, wires: [['hc']] },
      { id: 'h', type: 'helper' },
      { id: 'hc', type: 'helper' },
    ]));
    const status = new StatusLog(helper.getNode('out'));
    await status.waitFor('green', 'dot');
    await gateway.stop();
    await status.waitFor('red', 'ring', 15000);

    const finished = nextMessage(helper.getNode('hc'), 12000);
    const received = nextMessage(helper.getNode('h'), 12000);
    helper.getNode('out').receive({ payload: 'sent while away' });
    gateway = await startGateway({ port });
    const outcome = await finished;
    assert.equal(outcome.error, undefined, 'done() without an error');
    assert.equal((await received).payload, 'sent while away');
  });

  it('shows red ring while the gateway is unreachable, fails publishes after the timeout, and keeps trying', async function () {
    const port = await freeUdpPort();
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', port, { timeout: 1 }),
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'x/y', topicType: 'normal', qos: '1', retain: '' },
      { id: 'catcher', type: 'catch', scope: ['out'], uncaught: false, wires: [['he']] },
      { id: 'he', type: 'helper' },
    ]));
    const status = new StatusLog(helper.getNode('out'));
    await status.waitFor('yellow', 'ring');
    await status.waitFor('red', 'ring', 10000);
    // A publish waits for the connection no longer than the configured timeout.
    const caught = nextMessage(helper.getNode('he'), 4000);
    helper.getNode('out').receive({ payload: 'nobody there' });
    assert.match(((await caught).error as { message: string }).message, /not connected .* within 1 s/);
    gateway = await startGateway({ port });
    await status.waitFor('green', 'dot', 15000);
  });

  it('publishes QoS -1 while its connection is refused, and shows the refusal', async function () {
    // The gateway takes one client: a plain client holds the place and listens.
    gateway = await startGateway({ clients: 1 });
    const port = gateway.address().port;
    const listener = new MQTTSN();
    listener.remoteHost = '127.0.0.1';
    listener.remotePort = port;
    listener.clientId = 'place-holder';
    const heard: string[] = [];
    listener.on('messageIn', (event) => heard.push(Buffer.from(event.message).toString()));
    await listener.connect();
    await listener.subscribe('qa', 2, 0);
    try {
      await helper.load([mqttSnNodes], onTab([
        brokerNode('b', port, { timeout: 2 }),
        { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'qa', topicType: 'short', qos: '-1', retain: '' },
      ]));
      const status = new StatusLog(helper.getNode('out'));
      await status.waitFor('red', 'dot', 10000);
      helper.getNode('out').receive({ payload: 'without a connection' });
      await until(() => heard.length > 0, 'the QoS -1 message');
      assert.deepEqual(heard, ['without a connection']);
    } finally {
      await listener.disconnect();
    }
  });

  it('finds the gateway with SEARCHGW when discovery is on', async function () {
    gateway = await startGateway();
    const port = gateway.address().port;
    await helper.load([mqttSnNodes], onTab([
      brokerNode('b', port, { discover: true, radius: 1 }),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'found/it', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'found/it', topicType: 'normal', qos: '1', retain: '' },
      { id: 'h', type: 'helper' },
    ]));
    await new StatusLog(helper.getNode('in')).waitFor('green', 'dot', 10000);
    assert.equal(gateway.clientCount, 1);
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: 'via discovery' });
    assert.equal((await received).payload, 'via discovery');
  });

  it('hosts a gateway in a flow with the gateway node', async function () {
    const port = await freeUdpPort();
    await helper.load([mqttSnNodes], onTab([
      { id: 'gw', type: 'mqtt-sn gateway', host: '127.0.0.1', port, broker: '', mode: 'transparent', predefined: '' },
      brokerNode('b', port),
      { id: 'in', type: 'mqtt-sn in', broker: 'b', topic: 'own/gw', topicType: 'normal', qos: '1', datatype: 'utf8', wires: [['h']] },
      { id: 'out', type: 'mqtt-sn out', broker: 'b', topic: 'own/gw', topicType: 'normal', qos: '1', retain: '' },
      { id: 'h', type: 'helper' },
    ]));
    await new StatusLog(helper.getNode('gw')).waitFor('green', 'dot');
    await new StatusLog(helper.getNode('in')).waitFor('green', 'dot', 10000);
    const received = nextMessage(helper.getNode('h'));
    helper.getNode('out').receive({ payload: 'through the flow gateway' });
    assert.equal((await received).payload, 'through the flow gateway');
    // Its status counts the client of the config node, then the messages per second.
    const gwStatus = new StatusLog(helper.getNode('gw'));
    await until(() => gwStatus.seen.some((s) => /^1 clients, \d+ msg\/s$/.test(s.text ?? '')), 'the client count in the status', 10000);
    for (let i = 0; i < 20; i++) helper.getNode('out').receive({ payload: `burst ${i}` });
    await until(() => gwStatus.seen.some((s) => /^1 clients, [1-9]\d* msg\/s$/.test(s.text ?? '')), 'a message rate in the status', 15000);
  });
});
