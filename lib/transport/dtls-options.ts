/**
 * DTLS settings as users give them, checked once, with secure defaults, and
 * turned into what the addon's context takes. Pre-shared keys are written in
 * hex, as OpenSSL's `-psk` takes them; certificates and keys are PEM text
 * (readDtlsFiles() reads them from files with coded errors).
 */
import * as fs from 'node:fs';
import { ErrorCode, MqttSnError } from '../errors';

export interface DtlsCommonOptions {
  /** OpenSSL cipher list; the default depends on the credentials (see defaultCiphers). */
  ciphers?: string;
  /** CA certificates (PEM) that peers' certificates must chain to. */
  ca?: string | Buffer;
  /** Own certificate chain (PEM), leaf first. */
  cert?: string | Buffer;
  /** Own private key (PEM, unencrypted). */
  key?: string | Buffer;
  /** Path MTU in octets (IP header included): records never exceed it. Default 1280. */
  mtu?: number;
  /** First handshake retransmission after this many ms, doubling after. Default 1000. */
  retransmitMs?: number;
  /** A handshake not finished by then fails (HANDSHAKE). Default 30000. */
  handshakeTimeoutMs?: number;
  /** An association silent this long (nothing sent or received) is closed. Default: a server 24 h, a client never. */
  idleTimeoutMs?: number;
}

export interface DtlsClientOptions extends DtlsCommonOptions {
  /** PSK identity (what the gateway looks the key up by). */
  pskIdentity?: string;
  /** PSK in hex (e.g. "1a2b3c..."), or the raw octets. */
  pskKey?: string | Buffer;
  /** Verify the gateway's certificate (default true; irrelevant for PSK handshakes, which carry no certificate). */
  verifyPeer?: boolean;
  /** The name the gateway's certificate must carry (default: the address connected to). */
  servername?: string;
}

export interface DtlsServerOptions extends DtlsCommonOptions {
  /** PSK identity to key (hex or raw octets). */
  pskKeys?: ReadonlyMap<string, string | Buffer> | Readonly<Record<string, string | Buffer>>;
  /** Ask clients for a certificate and verify it against `ca` when given. */
  verifyPeer?: boolean;
  /** Refuse certificate handshakes without a valid client certificate. */
  requireClientCert?: boolean;
  /** At most this many peers with DTLS state (handshaking or connected); others get silence. Default 10000. */
  maxPeers?: number;
}

/** What the addon's DtlsContext constructor takes. */
export interface NativeContextOptions {
  server: boolean;
  ciphers: string;
  linkMtu: number;
  retransmitMs: number;
  ca?: string;
  cert?: string;
  key?: string;
  verifyPeer: boolean;
  /** Client: trust the system's CA store (loading it takes tens of milliseconds). */
  systemCa?: boolean;
  requireClientCert?: boolean;
  pskIdentity?: string;
  pskKey?: Buffer;
  pskKeys?: Record<string, Buffer>;
}

/** Authenticated encryption with forward secrecy first; CCM_8 last, for constrained devices. */
const PSK_CIPHERS = [
  'ECDHE-PSK-CHACHA20-POLY1305',
  'PSK-AES128-GCM-SHA256',
  'PSK-AES256-GCM-SHA384',
  'PSK-CHACHA20-POLY1305',
  'PSK-AES128-CCM',
  'PSK-AES128-CCM8',
];
const CERTIFICATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/** The default cipher list for the credentials in use: PSK suites only for PSK, certificate suites only for certificates. */
export function defaultCiphers(psk: boolean, certificates: boolean): string {
  return [...(psk ? PSK_CIPHERS : []), ...(certificates || !psk ? CERTIFICATE_CIPHERS : [])].join(':');
}

export const DEFAULT_MTU = 1280;
export const DEFAULT_RETRANSMIT_MS = 1000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PEERS = 10_000;
export const DEFAULT_SERVER_IDLE_MS = 24 * 3600 * 1000;
/** OpenSSL's limits (PSK_MAX_IDENTITY_LEN, PSK_MAX_PSK_LEN in OpenSSL 3.0). */
const MAX_IDENTITY_OCTETS = 128;
const MAX_KEY_OCTETS = 256;

function invalid(text: string): MqttSnError {
  return new MqttSnError(ErrorCode.INVALID_ARGUMENT, text);
}

/** A pre-shared key from hex (as OpenSSL's -psk) or raw octets. */
export function pskKeyOctets(key: string | Buffer, whose: string): Buffer {
  if (Buffer.isBuffer(key)) {
    if (key.length === 0 || key.length > MAX_KEY_OCTETS) throw new MqttSnError(ErrorCode.CREDENTIALS, `The pre-shared key of ${whose} must be 1 to ${MAX_KEY_OCTETS} octets.`);
    return Buffer.from(key);
  }
  const hex = key.trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length / 2 > MAX_KEY_OCTETS) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, `The pre-shared key of ${whose} must be an even number of hex digits (1 to ${MAX_KEY_OCTETS} octets), as OpenSSL's -psk takes it.`);
  }
  return Buffer.from(hex, 'hex');
}

function checkIdentity(identity: string): void {
  const octets = Buffer.byteLength(identity);
  if (octets === 0 || octets > MAX_IDENTITY_OCTETS || identity.includes('\0')) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, `A PSK identity must be 1 to ${MAX_IDENTITY_OCTETS} octets without NUL, not ${JSON.stringify(identity)}.`);
  }
}

function text(value: string | Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  const pem = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return pem.trim() === '' ? undefined : pem;
}

function positive(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw invalid(`DTLS ${name} must be a number of at least ${min}, not ${String(value)}.`);
  return value;
}

function common(options: DtlsCommonOptions, psk: boolean): Omit<NativeContextOptions, 'server' | 'verifyPeer'> {
  const cert = text(options.cert);
  const key = text(options.key);
  const ca = text(options.ca);
  return {
    ciphers: options.ciphers?.trim() || defaultCiphers(psk, cert !== undefined || ca !== undefined),
    // Below 256 OpenSSL cannot fit a handshake message fragment; IPv6 needs links of at least 1280.
    linkMtu: Math.floor(positive(options.mtu, DEFAULT_MTU, 'mtu', 256)),
    retransmitMs: positive(options.retransmitMs, DEFAULT_RETRANSMIT_MS, 'retransmitMs'),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(ca ? { ca } : {}),
  };
}

export function clientContextOptions(options: DtlsClientOptions): NativeContextOptions {
  const psk = options.pskIdentity !== undefined || options.pskKey !== undefined;
  if (psk && (!options.pskIdentity || options.pskKey === undefined)) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, 'A DTLS pre-shared key needs both the identity and the key.');
  }
  if (psk) checkIdentity(options.pskIdentity as string);
  const base = common(options, psk);
  const verifyPeer = options.verifyPeer !== false;
  return {
    server: false,
    ...base,
    verifyPeer,
    // A PSK-only client negotiates no certificate suite, so it needs no CA store.
    systemCa: verifyPeer && !base.ca && base.ciphers !== defaultCiphers(true, false),
    ...(psk ? { pskIdentity: options.pskIdentity, pskKey: pskKeyOctets(options.pskKey as string | Buffer, options.pskIdentity as string) } : {}),
  };
}

export function serverContextOptions(options: DtlsServerOptions): NativeContextOptions {
  const keys = pskTable(options.pskKeys);
  const psk = Object.keys(keys).length > 0;
  const base = common(options, psk);
  if (!psk && !base.cert) {
    throw new MqttSnError(ErrorCode.SERVER_CERTIFICATE, 'A DTLS server needs pre-shared keys or a certificate and its key.');
  }
  if (options.requireClientCert && !base.ca) {
    throw new MqttSnError(ErrorCode.CERTIFICATE_STORE, 'Requiring client certificates needs the CA they must chain to.');
  }
  return {
    server: true,
    ...base,
    verifyPeer: options.verifyPeer === true || options.requireClientCert === true,
    requireClientCert: options.requireClientCert === true,
    ...(psk ? { pskKeys: keys } : {}),
  };
}

/** Identity to key octets, checked. */
export function pskTable(keys: DtlsServerOptions['pskKeys']): Record<string, Buffer> {
  const table: Record<string, Buffer> = Object.create(null) as Record<string, Buffer>;
  if (!keys) return table;
  const entries = keys instanceof Map ? [...keys.entries()] : Object.entries(keys);
  for (const [identity, key] of entries) {
    checkIdentity(identity);
    table[identity] = pskKeyOctets(key, identity);
  }
  return table;
}

/**
 * Parses a PSK file: one `identity:hexkey` per line (the key as OpenSSL's
 * -psk takes it); blank lines and lines starting with # are skipped. The last
 * colon separates, so an identity may contain colons.
 */
export function parsePskFile(content: string, name = 'the PSK file'): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  content.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.lastIndexOf(':');
    const where = `${name}, line ${index + 1}`;
    if (colon <= 0) throw new MqttSnError(ErrorCode.CREDENTIALS, `${where}: expected identity:hexkey.`);
    const identity = line.slice(0, colon).trim();
    checkIdentity(identity);
    if (keys.has(identity)) throw new MqttSnError(ErrorCode.CREDENTIALS, `${where}: identity "${identity}" appears twice.`);
    keys.set(identity, pskKeyOctets(line.slice(colon + 1), `"${identity}" (${where})`));
  });
  return keys;
}

export interface DtlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Reads certificate, key and CA files; a missing or unreadable file is a coded error naming it. */
export function readDtlsFiles(files: DtlsFiles): { ca?: string; cert?: string; key?: string } {
  const read = (file: string | undefined, code: number, what: string): string | undefined => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new MqttSnError(code, `Cannot read the ${what} ${file}: ${(error as Error).message}`);
    }
  };
  const ca = read(files.caFile, ErrorCode.CERTIFICATE_STORE, 'CA file');
  const cert = read(files.certFile, ErrorCode.CERTIFICATE_NOT_FOUND, 'certificate file');
  const key = read(files.keyFile, ErrorCode.CREDENTIALS, 'key file');
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}

/** Reads a PSK file (see parsePskFile). */
export function readPskFile(file: string): Map<string, Buffer> {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, `Cannot read the PSK file ${file}: ${(error as Error).message}`);
  }
  return parsePskFile(content, file);
}
