/**
 * The DTLS links the client end-to-end suite also runs over: a pre-shared
 * key, and certificates (a throw-away CA made when the suites are defined,
 * removed after the run).
 */
import { makeCertificates } from '../helpers/certificates';
import type { Link } from './support';

export const DTLS_KEY = '00112233445566778899aabbccddeeff';

const certs = makeCertificates();
after(() => certs.remove());

export const PSK_LINK: Link = {
  name: 'DTLS with a pre-shared key',
  dtls: { port: 0, pskKeys: { 'e2e-psk': DTLS_KEY } },
  clientSettings: ['DTLS=True', 'DTLSPSKIdentity=e2e-psk', `DTLSPSKKey=${DTLS_KEY}`, 'DTLSHandshakeTimeout=3'],
};

export const CERTIFICATE_LINK: Link = {
  name: 'DTLS with certificates',
  dtls: { port: 0, certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, requireClientCert: true },
  clientSettings: ['DTLS=True', `DTLSCAFile=${certs.caFile}`, `DTLSCertFile=${certs.client.certFile}`, `DTLSKeyFile=${certs.client.keyFile}`, 'DTLSHandshakeTimeout=3'],
};

export const DTLS_LINKS: readonly Link[] = [PSK_LINK, CERTIFICATE_LINK];
