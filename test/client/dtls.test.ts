/**
 * The client over DTLS against OpenSSL's own s_server, which plays the
 * gateway: the test reads the client's packets from what s_server prints and
 * answers through its standard input. Pre-shared keys and certificates; each
 * certificate failure and bad setting with its coded error.
 */
import { strict as assert } from 'node:assert';
import { encode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';
import { MQTTSN, MqttSnClient } from '../../lib/client';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { freeUdpPort } from '../helpers/net';
import { runWithoutAddon } from '../helpers/no-addon';
import { OpenSslPeer } from '../helpers/openssl';
import { until } from '../helpers/until';

const KEY = '00112233445566778899aabbccddeeff';

describe('client over DTLS, OpenSSL s_server as the gateway', function () {
  this.timeout(40000);
  let certs: TestCertificates;
  const peers: OpenSslPeer[] = [];
  const closers: (() => Promise<unknown> | void)[] = [];

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  async function server(args: string[]): Promise<{ peer: OpenSslPeer; port: number }> {
    const port = await freeUdpPort();
    const peer = OpenSslPeer.server(port, args);
    peers.push(peer);
    return { peer, port };
  }

  function mqttsn(settings: string[]): MQTTSN {
    const client = new MQTTSN();
    client.clientId = 'sensor-1';
    client.keepAliveInterval = 60;
    client.timeout = 20;
    for (const setting of ['DTLS=True', 'DTLSHandshakeTimeout=15', ...settings]) client.config(setting);
    closers.push(() => client.reset());
    return client;
  }

  it('MQTTSN with config DTLS=True and a pre-shared key: CONNECT, CONNACK and a publish', async () => {
    const { peer, port } = await server(['-nocert', '-psk', KEY, '-psk_identity', 'sensor-1']);
    const client = mqttsn(['DTLSPSKIdentity=sensor-1', `DTLSPSKKey=${KEY}`]);
    const connected = client.connectTo('127.0.0.1', port);
    await peer.acceptConnect('sensor-1');
    await connected;
    await client.publishMessage('ab', 2, 0, 'over dtls');
    const publish: Packet = { type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 2, topicId: 'ab', msgId: 0, payload: Buffer.from('over dtls') };
    await until(() => peer.outputBytes.includes(encode(publish)), 'the PUBLISH through s_server', 10000);
    assert.equal(client.config('DTLS'), 'True');
  });

  it('MqttSnClient with a certificate-verified gateway', async () => {
    const { peer, port } = await server(['-cert', certs.server.certFile, '-key', certs.server.keyFile]);
    const client = new MqttSnClient({ host: '127.0.0.1', port, clientId: 'sensor-2', reconnect: false, dtls: { caFile: certs.caFile, servername: 'localhost' } });
    closers.push(() => client.end(true));
    const connected = client.connect();
    await peer.acceptConnect('sensor-2');
    await connected;
  });

  const refusals = [
    { what: 'an expired certificate', pair: (c: TestCertificates) => c.expired, code: ErrorCode.CERTIFICATE_VERIFY, text: /expired/ },
    { what: 'an untrusted certificate', pair: (c: TestCertificates) => c.untrusted, code: ErrorCode.CERTIFICATE_CHAIN, text: /issuer/ },
    { what: 'a certificate for another host name', pair: (c: TestCertificates) => c.wrongHost, code: ErrorCode.CERTIFICATE_VERIFY, text: /[Hh]ostname mismatch/ },
  ];
  for (const refusal of refusals) {
    it(`connect rejects ${refusal.what} with ${refusal.code}`, async () => {
      const pair = refusal.pair(certs);
      const { port } = await server(['-cert', pair.certFile, '-key', pair.keyFile]);
      const client = mqttsn([`DTLSCAFile=${certs.caFile}`, 'DTLSServerName=localhost']);
      await assert.rejects(client.connectTo('127.0.0.1', port), (e: unknown) => e instanceof MqttSnError && e.code === refusal.code && refusal.text.test(e.message));
    });
  }

  it('refuses bad DTLS settings at once with coded errors', async () => {
    const client = new MQTTSN();
    closers.push(() => client.reset());
    assert.throws(() => client.config('DTLSPSKKey=not-hex'), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.CREDENTIALS);
    client.config('DTLS=True');
    client.config(`DTLSCertFile=${certs.dir}/missing.crt`);
    client.config(`DTLSKeyFile=${certs.client.keyFile}`);
    await assert.rejects(client.connectTo('127.0.0.1', await freeUdpPort()), (e: unknown) => e instanceof MqttSnError && e.code === ErrorCode.CERTIFICATE_NOT_FOUND);
  });

  it('fails DTLS=True at once with 270 where the addon is not installed', () => {
    const output = runWithoutAddon(`
      const { MQTTSN, MqttSnClient } = require('./dist/lib/client');
      const results = [];
      try { new MQTTSN().config('DTLS=True'); } catch (e) { results.push(e.code); }
      try { new MqttSnClient({ host: '127.0.0.1', port: 1884, dtls: { pskIdentity: 'a', pskKey: '01' } }); } catch (e) { results.push(e.code); }
      console.log(results.join(' '));`);
    assert.equal(output.trim(), '270 270');
  });
});
