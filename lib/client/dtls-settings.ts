/**
 * The client's DTLS settings: in the reference class's style for MQTTSN's
 * config() (`DTLS=True`, `DTLSPSKIdentity=...`), as an object for
 * MqttSnClient, and how they become the DTLS transport's options. Turning DTLS
 * on without the native addon fails at once (270); files are read when the
 * socket opens, so a bad path fails the connect with its code.
 */
import { ErrorCode, MqttSnError } from '../errors';
import type { DtlsTransportOptions } from '../transport/dtls';
import { loadDtlsBinding } from '../transport/dtls-native';
import { pskKeyOctets, readDtlsFiles } from '../transport/dtls-options';

export interface ClientDtlsSettings {
  /** Speak DTLS 1.2 to the gateway. */
  enabled: boolean;
  /** PSK identity and key (hex, as OpenSSL's -psk). */
  pskIdentity: string;
  pskKey: string;
  /** PEM files: the CA the gateway's certificate must chain to, and the client's own certificate and key. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** PEM text instead of files (MqttSnClient). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the gateway's certificate must carry (default: the gateway host as configured). */
  serverName: string;
  /** Verify the gateway's certificate (default true). */
  verifyPeer: boolean;
  /** OpenSSL cipher list ('' for the default). */
  ciphers: string;
  /** Seconds a handshake may take. */
  handshakeTimeout: number;
}

export function defaultDtlsSettings(): ClientDtlsSettings {
  return {
    enabled: false,
    pskIdentity: '',
    pskKey: '',
    caFile: '',
    certFile: '',
    keyFile: '',
    serverName: '',
    verifyPeer: true,
    ciphers: '',
    handshakeTimeout: 30,
  };
}

/** Checks that DTLS can run here (throws 270 without the addon). */
export function requireDtls(): void {
  loadDtlsBinding();
}

/** Checks a hex pre-shared key as it is set (throws 273). */
export function checkPskKey(hex: string): string {
  if (hex.trim() !== '') pskKeyOctets(hex, 'DTLSPSKKey');
  return hex.trim();
}

/** The DTLS transport's options for a client; reads the certificate files. */
export function dtlsClientOptions(settings: ClientDtlsSettings): DtlsTransportOptions {
  const files = readDtlsFiles({ caFile: settings.caFile || undefined, certFile: settings.certFile || undefined, keyFile: settings.keyFile || undefined });
  const psk = settings.pskIdentity !== '' || settings.pskKey !== '';
  if (psk && (settings.pskIdentity === '' || settings.pskKey === '')) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, 'DTLS with a pre-shared key needs both DTLSPSKIdentity and DTLSPSKKey.');
  }
  const ca = settings.ca ?? files.ca;
  const cert = settings.cert ?? files.cert;
  const key = settings.key ?? files.key;
  return {
    role: 'client',
    ...(psk ? { pskIdentity: settings.pskIdentity, pskKey: settings.pskKey } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    verifyPeer: settings.verifyPeer,
    ...(settings.ciphers !== '' ? { ciphers: settings.ciphers } : {}),
    handshakeTimeoutMs: settings.handshakeTimeout * 1000,
  };
}
