/**
 * The gateway node's Security tab: the gateway node serves the config node's
 * client over DTLS with pre-shared keys deployed as the editor deploys them
 * (inside the nodes, extracted into Node-RED's credentials, never in the
 * flow), with certificate files, and with a wrong key refused.
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { freeUdpPort } from '../helpers/net';
import { runWithoutAddon } from '../helpers/no-addon';
import { brokerNode, expectRoundTrip, helper, mqttSnNodes, onTab, roundTrip, StatusLog, until, type TestNode } from './support';

const KEY = '00112233445566778899aabbccddeeff';
const OTHER_KEY = 'ffeeddccbbaa99887766554433221100';

/** What Node-RED's runtime offers the test helper's callers. */
interface RuntimeNodes {
  setFlows(flow: object[], credentials: object, type: string): Promise<unknown>;
  getFlows(): { flows: object[] };
  getCredentials(id: string): Record<string, unknown> | undefined;
}

const runtime = (): RuntimeNodes => (helper as unknown as { _redNodes: RuntimeNodes })._redNodes;

/** Binds a UDP socket to 127.0.0.1:port (failing when something holds it) and closes it. */
async function bindAndClose(port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', resolve);
  }).finally(() => socket.close());
}

/** Deploys `flow` as the editor does (a full deploy) and waits until its nodes run. */
async function deploy(flow: Record<string, unknown>[]): Promise<void> {
  const ids = flow.filter((node) => node.type !== 'tab').map((node) => node.id as string);
  const before = ids.map((id) => helper.getNode(id));
  await runtime().setFlows(flow, {}, 'full');
  await until(() => ids.every((id, i) => ![null, before[i]].includes(helper.getNode(id))), 'the deployed nodes', 20000);
}

/** Messages a node logged (node.log), as the helper's spy saw them. */
function logged(node: TestNode): string[] {
  const spy = (helper as unknown as { _NodePrototype: { log: { getCalls(): { thisValue: { id?: string }; args: unknown[] }[] } } })._NodePrototype.log;
  return spy.getCalls().filter((call) => call.thisValue?.id === node.id).map((call) => String(call.args[0]));
}

/** A gateway node with its DTLS listener on `dtlsPort`, beside plain UDP on `port`. */
function gatewayNode(port: number, dtlsPort: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'gw', type: 'mqtt-sn gateway', host: '127.0.0.1', port, broker: '', mode: 'transparent', predefined: '', dtls: true, dtlsPort, ...extra };
}

describe('nodes: DTLS on the gateway node', function () {
  this.timeout(60000);
  let certs: TestCertificates;

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    await helper.unload();
  });

  it('serves a client with the pre-shared key deployed in credentials, keeps the key out of the flow, and keeps a saved key on redeploy', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    await helper.load([mqttSnNodes], [{ id: 'tab', type: 'tab', label: 'test' }]);
    // As the editor deploys: each node's credentials inside it; the runtime extracts them into its store.
    const flow = (gatewayKeys: string) =>
      onTab([
        { ...gatewayNode(port, dtlsPort, { dtlsOnly: true }), credentials: { pskIdentities: 'node-red-1', pskKeys: gatewayKeys } },
        { ...brokerNode('b', dtlsPort, { clientid: 'node-red-1', dtls: true }), credentials: { pskIdentity: 'node-red-1', pskKey: KEY } },
        ...roundTrip('b', 'secure/psk'),
      ]);
    await deploy(flow(`node-red-1:${KEY}`));
    await new StatusLog(helper.getNode('gw')).waitFor('green', 'dot', 20000);
    // DTLS only: the plain UDP port stays free.
    await bindAndClose(port);
    await expectRoundTrip('b', 'over DTLS with a pre-shared key');

    const saved = JSON.stringify(runtime().getFlows().flows);
    assert.ok(!saved.includes(KEY), 'no key in the flow Node-RED saves');
    assert.ok(!saved.includes('pskKeys'), 'no credentials in the flow');
    assert.equal(runtime().getCredentials('gw')?.pskKeys, `node-red-1:${KEY}`);

    // The editor sends "__PWRD__" for a password it never got back: the saved keys stay.
    await deploy(flow('__PWRD__'));
    assert.equal(runtime().getCredentials('gw')?.pskKeys, `node-red-1:${KEY}`);
    await new StatusLog(helper.getNode('gw')).waitFor('green', 'dot', 20000);
    await expectRoundTrip('b', 'again after a redeploy');
  });

  it('refuses a client with a wrong key while serving one with the right key: "DTLS handshake failed" under its nodes', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    await helper.load(
      [mqttSnNodes],
      onTab([
        gatewayNode(port, dtlsPort),
        brokerNode('good', dtlsPort, { clientid: 'sensor-1', dtls: true }),
        brokerNode('bad', dtlsPort, { clientid: 'sensor-2', dtls: true }),
        ...roundTrip('good', 'secure/good'),
        ...roundTrip('bad', 'secure/bad'),
      ]),
      {
        gw: { pskIdentities: 'sensor-1\nsensor-2', pskKeys: `sensor-1:${KEY}\nsensor-2:${KEY}` },
        good: { pskIdentity: 'sensor-1', pskKey: KEY },
        bad: { pskIdentity: 'sensor-2', pskKey: OTHER_KEY },
      },
    );
    await expectRoundTrip('good', 'the right key');
    const gateway = helper.getNode('gw');
    const badStatus = new StatusLog(helper.getNode('in-bad'));
    await badStatus.waitFor('red', 'ring', 20000);
    assert.equal(badStatus.last?.text, 'mqtt-sn.status.dtls-handshake');
    assert.ok(!badStatus.seen.some((s) => s.fill === 'green'), `the wrong key never connects: ${JSON.stringify(badStatus.seen)}`);
    const gwStatus = new StatusLog(gateway);
    assert.match(gwStatus.last?.text ?? '', /^1 clients/);
  });

  it('serves a client certificate chained to the CA, with certificate files on both ends', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    await helper.load([mqttSnNodes], onTab([
      gatewayNode(port, dtlsPort, {
        dtlsCertFile: certs.server.certFile,
        dtlsKeyFile: certs.server.keyFile,
        dtlsCaFile: certs.caFile,
        dtlsRequireClientCert: true,
        dtlsClientIds: 'sensor-1: sensor-1 sensor-1-*',
      }),
      brokerNode('b', dtlsPort, {
        clientid: 'sensor-1-a',
        dtls: true,
        dtlsCaFile: certs.caFile,
        dtlsCertFile: certs.client.certFile,
        dtlsKeyFile: certs.client.keyFile,
        dtlsVerify: true,
      }),
      ...roundTrip('b', 'secure/cert'),
    ]));
    await expectRoundTrip('b', 'over DTLS with certificates');
  });

  it('refuses a client id its DTLS identity is not bound to, with CONNACK "not supported" and a log line', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    await helper.load(
      [mqttSnNodes],
      onTab([
        gatewayNode(port, dtlsPort, { dtlsClientIds: 'sensor-1: sensor-1' }),
        brokerNode('b', dtlsPort, { clientid: 'pump-7', dtls: true }),
        ...roundTrip('b', 'secure/bound'),
      ]),
      { gw: { pskIdentities: 'sensor-1', pskKeys: `sensor-1:${KEY}` }, b: { pskIdentity: 'sensor-1', pskKey: KEY } },
    );
    await new StatusLog(helper.getNode('in-b')).waitFor('red', 'dot', 20000);
    assert.equal(new StatusLog(helper.getNode('in-b')).last?.text, 'mqtt-sn.status.refused-not-supported');
    await until(() => logged(helper.getNode('gw')).some((line) => line.includes('DTLS identity "sensor-1" may not use client id pump-7')), 'the refusal in the log', 10000);
  });

  it('without the addon: a DTLS gateway fails at deploy with 270 and "DTLS needs the addon", a plain one beside it serves', async () => {
    const [port, dtlsPort, plainPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const flow = onTab([
      gatewayNode(port, dtlsPort),
      { id: 'plain', type: 'mqtt-sn gateway', host: '127.0.0.1', port: plainPort, broker: '', mode: 'transparent', predefined: '' },
      brokerNode('b', plainPort, { clientid: 'plain-1' }),
      ...roundTrip('b', 'plain/no-addon'),
    ]);
    const output = runWithoutAddon(`
      const helper = require('node-red-node-test-helper');
      helper.init(require.resolve('node-red'));
      const calls = (method, id) => helper._NodePrototype[method].getCalls().filter((c) => c.thisValue && c.thisValue.id === id).map((c) => c.args[0]);
      const last = (id) => calls('status', id).slice(-1)[0] || {};
      (async () => {
        await helper.load([require('./dist/nodes/mqtt-sn.js')], ${JSON.stringify(flow)}, { gw: { pskIdentities: 'a', pskKeys: 'a:${KEY}' } });
        const end = Date.now() + 30000;
        while (Date.now() < end && !(last('gw').fill === 'red' && last('in-b').fill === 'green')) await new Promise((r) => setTimeout(r, 50));
        const error = calls('error', 'gw')[0];
        console.log(JSON.stringify({ gw: last('gw'), inB: last('in-b'), code: error && error.code }));
        await helper.unload();
        process.exit(0);
      })();`);
    const result = JSON.parse(output.trim().split('\n').pop() as string) as { gw: { fill: string; text: string }; inB: { fill: string }; code: number };
    assert.deepEqual([result.gw.fill, result.gw.text], ['red', 'mqtt-sn.status.no-dtls']);
    assert.equal(result.code, 270);
    assert.equal(result.inB.fill, 'green', 'the plain gateway serves its client');
  });

  it('fails at deploy with a coded error and a short status for a malformed key, the plain gateway beside it serving', async () => {
    const [port, dtlsPort, plainPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    await helper.load(
      [mqttSnNodes],
      onTab([
        gatewayNode(port, dtlsPort),
        { id: 'plain', type: 'mqtt-sn gateway', host: '127.0.0.1', port: plainPort, broker: '', mode: 'transparent', predefined: '' },
        brokerNode('b', plainPort, { clientid: 'plain-1' }),
        ...roundTrip('b', 'plain/beside'),
      ]),
      { gw: { pskIdentities: 'sensor-1', pskKeys: 'sensor-1:not-hex' } },
    );
    const status = new StatusLog(helper.getNode('gw'));
    await status.waitFor('red', 'dot');
    assert.equal(status.last?.text, 'mqtt-sn.status.dtls-settings');
    const errorSpy = (helper as unknown as { _NodePrototype: { error: { getCalls(): { thisValue: { id?: string }; args: unknown[] }[] } } })._NodePrototype.error;
    const reported = errorSpy.getCalls().find((call) => call.thisValue?.id === 'gw')?.args[0] as { code?: number } | undefined;
    assert.equal(reported?.code, 273);
    await expectRoundTrip('b', 'plain UDP beside it');
  });
});
