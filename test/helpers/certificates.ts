/**
 * Throw-away X.509 material made with the openssl command line in a temporary
 * directory: a CA, a server certificate for localhost / 127.0.0.1, a client
 * certificate, and the bad ones (expired, wrong host name, signed by a CA
 * nobody trusts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface KeyPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  caFile: string;
  ca: string;
  /** CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  server: KeyPair;
  /** CN=sensor-1. */
  client: KeyPair;
  /** Like server, but its validity ended before it began. */
  expired: KeyPair;
  /** CN and SAN other.example. */
  wrongHost: KeyPair;
  /** Like server, signed by another CA. */
  untrusted: KeyPair;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}

function issue(dir: string, ca: string, name: string, subject: string, san: string, days: number): KeyPair {
  openssl(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${subject}`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
  // -days -1 makes a certificate whose validity ended a day before it began: expired from birth.
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', `${name}.ext`]);
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

export function makeCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-dtls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const caFile = path.join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    ca: fs.readFileSync(caFile, 'utf8'),
    server: issue(dir, 'ca', 'server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 2),
    client: issue(dir, 'ca', 'client', 'sensor-1', 'DNS:sensor-1', 2),
    expired: issue(dir, 'ca', 'expired', 'localhost', 'DNS:localhost,IP:127.0.0.1', -1),
    wrongHost: issue(dir, 'ca', 'wrong-host', 'other.example', 'DNS:other.example', 2),
    untrusted: issue(dir, 'other-ca', 'untrusted', 'localhost', 'DNS:localhost,IP:127.0.0.1', 2),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
