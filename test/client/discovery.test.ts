/**
 * Gateway discovery on loopback: SEARCHGW answered by the real gateway,
 * ADVERTISE from the real gateway (and a gateway dropped after missed
 * advertisements), and a client answering another client's SEARCHGW.
 */
import * as assert from 'node:assert/strict';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { decode } from '../../lib/codec';
import { delay } from '../helpers/mqtt-inbox';
import { freeUdpPort } from '../helpers/net';
import { NETS, newClient, nextEvent, startRig, udpListener, waitFor, type Rig } from './support';

for (const net of NETS) describe(`MQTTSN client: gateway discovery (${net.name})`, function () {
  this.timeout(15000);
  let rig: Rig | undefined;

  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('finds the gateway with SEARCHGW, reports its GWINFO, and connects to it without remoteHost', async () => {
    rig = await startRig('embedded', { gatewayId: 42 }, net);
    const client = rig.client(['DiscoveryAddress=127.0.0.1', `DiscoveryPort=${rig.port}`, 'SearchGwDelay=0.05']);
    const event = nextEvent(client, 'gatewayInfo');
    const found = await client.discoverGateway(1);
    assert.deepEqual(found, { messageType: 'GWINFO', gatewayId: 42, gatewayAddress: `127.0.0.1:${rig.port}`, interval: 0 });
    assert.deepEqual(await event, found);
    assert.deepEqual(
      client.gateways.map((g) => [g.gatewayId, g.host, g.port, g.source]),
      [[42, '127.0.0.1', rig.port, 'GWINFO']],
    );
    await client.connect();
    assert.equal(client.connected, true);
    assert.equal(client.remotePort, 0, 'remoteHost/remotePort were not needed');
    await client.disconnect();
  });

  it('repeats SEARCHGW with back-off and rejects with NO_GATEWAY when nobody answers', async () => {
    const opened = net.open();
    const silent = await udpListener('127.0.0.1', opened.transport);
    const client = newClient(['DiscoveryAddress=127.0.0.1', `DiscoveryPort=${silent.port}`, 'SearchGwDelay=0', 'RetryInterval=0.1'], opened.transport);
    client.timeout = 0.8;
    try {
      await assert.rejects(client.discoverGateway(0), (e: MqttSnError) => e.code === ErrorCode.NO_GATEWAY);
      const searches = silent.received.map((d) => decode(d));
      assert.ok(searches.length >= 3 && searches.length <= 5, `0, 0.1, 0.3, 0.7 s: got ${searches.length}`);
      for (const packet of searches) assert.deepEqual(packet, { type: 'SEARCHGW', radius: 0 });
    } finally {
      client.reset();
      await silent.close();
      opened.close();
    }
  });

  it('hears ADVERTISE, and drops a gateway after the configured number of missed advertisements', async () => {
    const port = await freeUdpPort();
    rig = await startRig('embedded', { gatewayId: 7, advertise: { interval: 1, address: '127.0.0.1', port } }, net);
    const client = rig.client([`DiscoveryPort=${port}`, 'DiscoveryAddress=127.0.0.1', 'AdvertiseMissed=1', 'LogLevel=1']);
    const advertised = nextEvent(client, 'gatewayInfo', 4000);
    client.config('DiscoveryListen=True');
    const event = await advertised;
    assert.deepEqual(event, { messageType: 'ADVERTISE', gatewayId: 7, gatewayAddress: `127.0.0.1:${rig.port}`, interval: 1 });
    assert.deepEqual(client.gateways.map((g) => [g.gatewayId, g.port, g.source]), [[7, rig.port, 'ADVERTISE']]);
    const logs: string[] = [];
    client.on('log', (entry) => logs.push(entry.message));
    await rig.gateway.stop();
    await waitFor(() => client.gateways.length === 0, 4000, 'the gateway to be dropped');
    assert.ok(logs.some((line) => line.includes('missed 1 advertisements')));
    client.config('DiscoveryListen=False');
  });

  it('answers another client\'s SEARCHGW when discoverRequest says respond, and with sendDiscoverResponse', async () => {
    rig = await startRig('embedded', { gatewayId: 3 }, net);
    const listenPort = await freeUdpPort();
    const helper = rig.client([`DiscoveryPort=${listenPort}`, 'DiscoveryAddress=127.0.0.1', 'GwInfoDelay=0.05']);
    await helper.connectTo('127.0.0.1', rig.port);
    helper.config('DiscoveryListen=True');
    await delay(100); // the discovery port binds asynchronously
    const requests: { radius: number; gatewayAddress: string }[] = [];
    helper.on('discoverRequest', (request) => {
      requests.push({ radius: request.radius, gatewayAddress: request.gatewayAddress });
      request.gatewayId = 3;
      request.respond = true;
    });

    const seeker = rig.client([`DiscoveryPort=${listenPort}`, 'DiscoveryAddress=127.0.0.1', 'SearchGwDelay=0']);
    const found = await seeker.discoverGateway(2);
    assert.deepEqual(requests, [{ radius: 2, gatewayAddress: `127.0.0.1:${rig.port}` }]);
    assert.deepEqual(found, { messageType: 'GWINFO', gatewayId: 3, gatewayAddress: `127.0.0.1:${rig.port}`, interval: 0 });
    await seeker.connect();
    assert.equal(seeker.connected, true);

    // Answering by hand: the GWINFO goes to whoever asked last.
    const announced = nextEvent(seeker, 'gatewayInfo');
    await helper.sendDiscoverResponse(9, '127.0.0.1:4321');
    assert.deepEqual(await announced, { messageType: 'GWINFO', gatewayId: 9, gatewayAddress: '127.0.0.1:4321', interval: 0 });
    await seeker.disconnect();
    helper.config('DiscoveryListen=False');
    await helper.disconnect();
  });

  it('searches over a multicast group on loopback', async () => {
    rig = await startRig('embedded', { gatewayId: 5 }, net);
    const groupPort = await freeUdpPort();
    const group = ['DiscoveryAddress=239.255.77.77', `DiscoveryPort=${groupPort}`, 'GwInfoDelay=0', 'SearchGwDelay=0'];
    const helper = rig.client(group);
    helper.localHost = '127.0.0.1';
    await helper.connectTo('127.0.0.1', rig.port);
    helper.config('DiscoveryListen=True');
    helper.on('discoverRequest', (request) => {
      request.gatewayId = 5;
      request.respond = true;
    });
    await delay(100); // the discovery port binds asynchronously
    const seeker = rig.client(group);
    seeker.localHost = '127.0.0.1';
    const found = await seeker.discoverGateway(0);
    assert.deepEqual(found, { messageType: 'GWINFO', gatewayId: 5, gatewayAddress: `127.0.0.1:${rig.port}`, interval: 0 });
    helper.config('DiscoveryListen=False');
    await helper.disconnect();
  });

  it('does not take its own SEARCHGW, looped back by the group, for another client\'s', async () => {
    const groupPort = await freeUdpPort();
    const opened = net.open();
    const client = newClient(['DiscoveryAddress=239.255.77.78', `DiscoveryPort=${groupPort}`, 'SearchGwDelay=0', 'RetryInterval=0.2'], opened.transport);
    try {
      client.localHost = '127.0.0.1';
      client.config('DiscoveryListen=True'); // joins the group on loopback, where the SEARCHGW goes out
      client.timeout = 1;
      const requests: number[] = [];
      client.on('discoverRequest', (request) => {
        requests.push(request.radius);
        // Answering would make the client find the gateway it announces itself.
        request.gatewayId = 7;
        request.gatewayAddress = '127.0.0.1:9';
        request.respond = true;
      });
      await delay(100); // the discovery port binds asynchronously
      await assert.rejects(client.discoverGateway(0), (e: MqttSnError) => e.code === ErrorCode.NO_GATEWAY);
      assert.deepEqual(requests, []);
    } finally {
      client.reset();
      opened.close();
    }
  });
});
