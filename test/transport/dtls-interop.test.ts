/**
 * The DTLS transport against a DTLS implementation nobody here wrote:
 * OpenSSL's own `s_server -dtls1_2` and `s_client -dtls1_2`, with pre-shared
 * keys and with certificates, application data both ways, and each
 * certificate failure with its coded error.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode, MqttSnError } from '../../lib/errors';
import type { DtlsTransportOptions } from '../../lib/transport/dtls';
import type { DatagramTransport, ReceivedDatagram } from '../../lib/transport/types';
import { makeCertificates, type TestCertificates } from '../helpers/certificates';
import { heard, openDtlsSide, type DtlsSide } from '../helpers/dtls-side';
import { freeUdpPort } from '../helpers/net';
import { OpenSslPeer } from '../helpers/openssl';
import { until } from '../helpers/until';

const KEY = '00112233445566778899aabbccddeeff';
const LOCAL = '127.0.0.1';

describe('DTLS interop with OpenSSL', function () {
  this.timeout(40000);
  let certs: TestCertificates;
  const transports: DatagramTransport[] = [];
  const peers: OpenSslPeer[] = [];

  before(() => (certs = makeCertificates()));
  after(() => certs.remove());
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    await Promise.all(peers.splice(0).map((p) => p.stop()));
  });

  const transport = (options: DtlsTransportOptions): Promise<DtlsSide> => openDtlsSide(transports, options);

  function openssl(peer: OpenSslPeer): OpenSslPeer {
    peers.push(peer);
    return peer;
  }

  describe('our client, OpenSSL s_server', () => {
    it('completes a PSK handshake and carries data both ways', async () => {
      const port = await freeUdpPort();
      const server = openssl(OpenSslPeer.server(port, ['-nocert', '-psk', KEY, '-psk_identity', 'sensor-1']));
      const { dtls, received } = await transport({ role: 'client', pskIdentity: 'sensor-1', pskKey: KEY });
      const to = { address: LOCAL, port };
      await dtls.connect(to);
      assert.match(dtls.sessions()[0].cipher, /PSK/);
      dtls.send(Buffer.from('hello from mqtt-sn\n'), to);
      await server.heard('hello from mqtt-sn');
      server.say('hello from openssl');
      await until(heard(received, 'hello from openssl'), 'data from s_server', 10000);
    });

    it('completes a certificate handshake, verifying the chain and the host name', async () => {
      const port = await freeUdpPort();
      const server = openssl(OpenSslPeer.server(port, ['-cert', certs.server.certFile, '-key', certs.server.keyFile]));
      const { dtls, received } = await transport({ role: 'client', ca: certs.ca, servername: 'localhost' });
      const to = { address: LOCAL, port };
      await dtls.connect(to);
      assert.match(dtls.sessions()[0].cipher, /^ECDHE-ECDSA-/);
      dtls.send(Buffer.from('hello over x509\n'), to);
      await server.heard('hello over x509');
      server.say('x509 answer');
      await until(heard(received, 'x509 answer'), 'data from s_server', 10000);
    });

    const refusals: { what: string; pair: (c: TestCertificates) => { certFile: string; keyFile: string }; servername: string; code: number; text: RegExp }[] = [
      { what: 'an expired certificate', pair: (c) => c.expired, servername: 'localhost', code: ErrorCode.CERTIFICATE_VERIFY, text: /expired/ },
      { what: 'a certificate from an untrusted CA', pair: (c) => c.untrusted, servername: 'localhost', code: ErrorCode.CERTIFICATE_CHAIN, text: /issuer certificate/ },
      { what: 'a certificate for another host name', pair: (c) => c.wrongHost, servername: 'localhost', code: ErrorCode.CERTIFICATE_VERIFY, text: /[Hh]ostname mismatch/ },
    ];
    for (const refusal of refusals) {
      it(`refuses ${refusal.what} with error ${refusal.code}`, async () => {
        const port = await freeUdpPort();
        const pair = refusal.pair(certs);
        openssl(OpenSslPeer.server(port, ['-cert', pair.certFile, '-key', pair.keyFile]));
        const { dtls, errors } = await transport({ role: 'client', ca: certs.ca, servername: refusal.servername });
        const failure = await dtls.connect({ address: LOCAL, port }).then(
          () => assert.fail('the handshake should fail'),
          (error: unknown) => error,
        );
        assert.ok(failure instanceof MqttSnError);
        assert.equal(failure.code, refusal.code, failure.message);
        assert.match(failure.message, refusal.text);
        assert.deepEqual(errors.map((e) => e.code), [refusal.code], 'reported once through onError too');
        assert.equal(dtls.sessions().length, 0);
      });
    }
  });

  describe('our server, OpenSSL s_client', () => {
    it('accepts a PSK client after the cookie exchange, with its identity on every datagram', async () => {
      const { dtls, received } = await transport({ role: 'server', pskKeys: { 'sensor-1': KEY, other: 'ffee' } });
      const port = dtls.localAddress()?.port as number;
      const client = openssl(OpenSslPeer.client(port, ['-psk', KEY, '-psk_identity', 'sensor-1']));
      client.say('hello from s_client');
      await until(heard(received, 'hello from s_client'), 'data from s_client', 15000);
      const datagram = received.find((d) => d.data.toString().includes('hello from s_client')) as ReceivedDatagram;
      assert.equal(datagram.identity, 'sensor-1');
      dtls.send(Buffer.from('hello from the gateway\n'), datagram.from);
      await client.heard('hello from the gateway');
    });

    it('requires and verifies a client certificate, its common name the identity', async () => {
      const { dtls, received } = await transport({ role: 'server', cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true });
      const port = dtls.localAddress()?.port as number;
      const client = openssl(
        OpenSslPeer.client(port, ['-cert', certs.client.certFile, '-key', certs.client.keyFile, '-CAfile', certs.caFile, '-verify_return_error', '-verify_hostname', 'localhost']),
      );
      client.say('hello with a certificate');
      await until(heard(received, 'hello with a certificate'), 'data from s_client', 15000);
      const datagram = received.find((d) => d.data.toString().includes('hello with a certificate')) as ReceivedDatagram;
      assert.equal(datagram.identity, 'sensor-1');
      dtls.send(Buffer.from('certified answer\n'), datagram.from);
      await client.heard('certified answer');
    });

    it('refuses a client without a certificate when one is required (281)', async () => {
      const { dtls, errors } = await transport({ role: 'server', cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true });
      const port = dtls.localAddress()?.port as number;
      openssl(OpenSslPeer.client(port, ['-CAfile', certs.caFile]));
      await until(() => errors.length > 0, 'the server reports the refused handshake', 15000);
      assert.equal(errors[0].code, ErrorCode.CLIENT_CERTIFICATE, errors[0].message);
      assert.equal(dtls.sessions().length, 0);
    });
  });
});
