/**
 * Keep-alive with margin: through a link that loses 30 % of the packets each
 * way, a client with a 2 s keep-alive and the default retry settings stays
 * connected for a minute, and the gateway never takes it for lost.
 */
import * as assert from 'node:assert/strict';
import { MQTTSN } from '../../lib/client';
import { MqttSnGateway, type GatewayClientEvent } from '../../lib/gateway';
import { impairedLink } from '../helpers/impairment';
import { LossyRelay } from '../helpers/lossy-relay';
import { delay } from '../helpers/mqtt-inbox';

const RUN_MS = 60000;

describe('keep-alive with margin', function () {
  this.timeout(RUN_MS + 30000);
  let gateway: MqttSnGateway;
  let relay: LossyRelay;
  let client: MQTTSN;

  beforeEach(async () => {
    gateway = new MqttSnGateway({ host: '127.0.0.1', port: 0, logLevel: 'error' });
    await gateway.start();
    relay = await LossyRelay.start({ address: '127.0.0.1', port: gateway.address().port });
    client = new MQTTSN();
  });

  afterEach(async () => {
    client.reset();
    await relay.stop();
    await gateway.stop();
  });

  it('30 % loss each way, keep-alive 2 s, default retries, 60 s: no false expiry on either side', async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const { rule, counts } = impairedLink({ loss: 0.3, duplicate: 0, reorder: 0, maxDelayMs: 0, seed });
    client.keepAliveInterval = 2;
    client.clientId = `keepalive-${seed}`;
    const clientSide: unknown[] = [];
    const gatewaySide: GatewayClientEvent[] = [];
    client.on('disconnected', (event) => clientSide.push(event));
    gateway.on('clientLost', (event: GatewayClientEvent) => gatewaySide.push(event));
    gateway.on('clientDisconnected', (event: GatewayClientEvent) => gatewaySide.push(event));
    await client.connectTo('127.0.0.1', relay.address().port);
    relay.rule = rule;
    await delay(RUN_MS);
    relay.rule = () => 'forward';
    const pings = relay.packets('PINGREQ', 'up').length;
    const answered = relay.packets('PINGRESP', 'down').length;
    console.log(`      60 s at 30 % loss: ${pings} PINGREQ, ${answered} PINGRESP sent, ${counts.lost} packets lost; client expiries ${clientSide.length}, gateway expiries ${gatewaySide.length}; seed ${seed}`);
    assert.deepEqual(clientSide, [], 'the client never gave the gateway up');
    assert.deepEqual(gatewaySide, [], 'the gateway never took the client for lost');
    assert.equal(client.connected, true);
    assert.equal(gateway.clientCount, 1);
    await client.disconnect();
  });
});
