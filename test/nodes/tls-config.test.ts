/**
 * Node-RED's TLS configuration node as the certificate source of DTLS, on the
 * gateway node and on the client config node: certificate files read by the
 * tls-config node, certificates uploaded into its credentials, and its
 * "verify server certificate" setting.
 */
import * as assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { freeUdpPort } from '../helpers/net';
import { brokerNode, expectRoundTrip, helper, mqttSnNodes, onTab, roundTrip, StatusLog } from './support';

const load = createRequire(__filename);
/** Core's tls-config node, as Node-RED ships it. */
const tlsConfigNode: unknown = load(load.resolve('@node-red/nodes/core/network/05-tls.js', { paths: [load.resolve('node-red')] }));

/** A tls-config node reading files (empty strings: none). */
function tlsFiles(id: string, files: { cert?: string; key?: string; ca?: string }, verifyservercert: boolean): Record<string, unknown> {
  return { id, type: 'tls-config', name: '', cert: files.cert ?? '', key: files.key ?? '', ca: files.ca ?? '', certname: '', keyname: '', caname: '', servername: '', verifyservercert };
}

describe('nodes: a TLS configuration node as the DTLS certificate source', function () {
  this.timeout(60000);
  let certs: TestCertificates;

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    await helper.unload();
  });

  function gatewayNode(port: number, dtlsPort: number, tls: string): Record<string, unknown> {
    return { id: 'gw', type: 'mqtt-sn gateway', host: '127.0.0.1', port, broker: '', mode: 'transparent', predefined: '', dtls: true, dtlsPort, dtlsOnly: true, usetls: true, tls, dtlsRequireClientCert: true };
  }

  it('serves a client whose certificates were uploaded into a TLS configuration (an encrypted key with its passphrase), the gateway reading its files through another', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    // Uploaded with an encrypted key: the TLS configuration's passphrase opens it.
    const encryptedKey = createPrivateKey(certs.client.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }).toString();
    await helper.load(
      [mqttSnNodes, tlsConfigNode],
      [
        tlsFiles('tls-gw', { cert: certs.server.certFile, key: certs.server.keyFile, ca: certs.caFile }, true),
        tlsFiles('tls-client', {}, true),
        ...onTab([
        gatewayNode(port, dtlsPort, 'tls-gw'),
        brokerNode('b', dtlsPort, { clientid: 'sensor-1', dtls: true, usetls: true, tls: 'tls-client' }),
        ...roundTrip('b', 'secure/tls-config'),
      ]),
      ],
      { 'tls-client': { certdata: certs.client.cert, keydata: encryptedKey, cadata: certs.ca, passphrase: 'open sesame' } },
    );
    await expectRoundTrip('b', 'certificates from TLS configurations');
  });

  it('follows "verify server certificate": a gateway certificate from another CA is refused with it, accepted without it', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    const uploaded = { certdata: certs.client.cert, keydata: certs.client.key, cadata: certs.ca };
    await helper.load(
      [mqttSnNodes, tlsConfigNode],
      [
        tlsFiles('tls-gw', { cert: certs.untrusted.certFile, key: certs.untrusted.keyFile, ca: certs.caFile }, true),
        tlsFiles('tls-verify', {}, true),
        tlsFiles('tls-trusting', {}, false),
        ...onTab([
        gatewayNode(port, dtlsPort, 'tls-gw'),
        brokerNode('strict', dtlsPort, { clientid: 'sensor-1', dtls: true, usetls: true, tls: 'tls-verify' }),
        brokerNode('lax', dtlsPort, { clientid: 'sensor-1-lax', dtls: true, usetls: true, tls: 'tls-trusting' }),
        ...roundTrip('strict', 'secure/strict'),
        ...roundTrip('lax', 'secure/lax'),
      ]),
      ],
      { 'tls-verify': uploaded, 'tls-trusting': uploaded },
    );
    await expectRoundTrip('lax', 'verification off');
    const strict = new StatusLog(helper.getNode('in-strict'));
    await strict.waitFor('red', 'ring', 20000);
    assert.equal(strict.last?.text, 'mqtt-sn.status.dtls-certificate');
    assert.ok(!strict.seen.some((s) => s.fill === 'green'), 'the untrusted gateway is never accepted');
  });

  it('fails with a coded error when the selected TLS configuration is missing', async () => {
    const [port, dtlsPort] = [await freeUdpPort(), await freeUdpPort()];
    await helper.load([mqttSnNodes, tlsConfigNode], onTab([gatewayNode(port, dtlsPort, 'no-such-tls')]));
    const status = new StatusLog(helper.getNode('gw'));
    await status.waitFor('red', 'dot');
    const errorSpy = (helper as unknown as { _NodePrototype: { error: { getCalls(): { thisValue: { id?: string }; args: unknown[] }[] } } })._NodePrototype.error;
    assert.equal((errorSpy.getCalls().find((call) => call.thisValue?.id === 'gw')?.args[0] as { code?: number } | undefined)?.code, 706);
  });
});
