/**
 * The gateway's DTLS listener settings: as users write them (PEM text or
 * files, keys inline or in a PSK file), and checked into what the DTLS
 * transport and the CONNECT check need. Files are read when the gateway
 * starts, so a bad path is a coded error at start, not at the first client.
 */
import { ErrorCode, MqttSnError } from '../errors';
import { readDtlsFiles, readPskFile, type DtlsServerOptions } from '../transport/dtls-options';
import { checkClientIdBindings, ClientIdRules, type ClientIdBindings } from './client-id-rules';

export interface GatewayDtlsOptions {
  /** UDP port of the DTLS listener (0 picks a free one). */
  port: number;
  /** Address of the DTLS listener. Default: the gateway's `host`. */
  host?: string;
  /** Serve DTLS only: no plain UDP listener. Default false (both). */
  only?: boolean;
  /** PSK identity → key in hex (as OpenSSL's -psk). */
  pskKeys?: Record<string, string>;
  /** A file of `identity:hexkey` lines, added to pskKeys. */
  pskFile?: string;
  /** PEM text of the gateway's certificate chain, its key, and the CA client certificates must chain to. */
  cert?: string;
  key?: string;
  ca?: string;
  /** The same, as files. */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** Certificate handshakes need a client certificate that chains to the CA. */
  requireClientCert?: boolean;
  /** OpenSSL cipher list (default: AEAD suites with forward secrecy first). */
  ciphers?: string;
  /** Path MTU (default 1280). */
  mtu?: number;
  /** A handshake not done by then is dropped (default 30000 ms). */
  handshakeTimeoutMs?: number;
  /** Peers with DTLS state at most (default 10000). */
  maxPeers?: number;
  /** An association silent this long is closed (default 24 h); sessions that end close theirs at once. */
  idleTimeoutMs?: number;
  /** Identity → the client ids it may use (see lib/gateway/client-id-rules.ts). */
  clientIds?: ClientIdBindings;
  /** Connect to the broker with the DTLS identity as MQTT username, so the broker's ACLs apply. */
  identityAsUsername?: boolean;
}

export interface ResolvedDtls {
  port: number;
  host: string | undefined;
  only: boolean;
  /** Reads the files and makes the transport options (throws coded errors). */
  transportOptions(): DtlsServerOptions;
  rules: ClientIdRules;
  identityAsUsername: boolean;
}

function invalid(what: string): MqttSnError {
  return new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Invalid gateway option: dtls.${what}.`);
}

export function resolveDtls(value: GatewayDtlsOptions | undefined): ResolvedDtls | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw invalid('must be an object');
  const { port } = value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw invalid('port must be an integer from 0 to 65535');
  if (value.pskKeys !== undefined && (value.pskKeys === null || typeof value.pskKeys !== 'object')) throw invalid('pskKeys must be an object of identity to hex key');
  const clientIds = checkClientIdBindings(value.clientIds, 'dtls.clientIds');
  return {
    port,
    host: value.host,
    only: value.only === true,
    rules: new ClientIdRules(clientIds),
    identityAsUsername: value.identityAsUsername === true,
    transportOptions: () => {
      const files = readDtlsFiles({ certFile: value.certFile, keyFile: value.keyFile, caFile: value.caFile });
      const pskKeys = new Map<string, string | Buffer>(Object.entries(value.pskKeys ?? {}));
      if (value.pskFile) for (const [identity, key] of readPskFile(value.pskFile)) pskKeys.set(identity, key);
      return {
        pskKeys,
        cert: value.cert ?? files.cert,
        key: value.key ?? files.key,
        ca: value.ca ?? files.ca,
        requireClientCert: value.requireClientCert === true,
        ...(value.ciphers !== undefined ? { ciphers: value.ciphers } : {}),
        ...(value.mtu !== undefined ? { mtu: value.mtu } : {}),
        ...(value.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: value.handshakeTimeoutMs } : {}),
        ...(value.maxPeers !== undefined ? { maxPeers: value.maxPeers } : {}),
        ...(value.idleTimeoutMs !== undefined ? { idleTimeoutMs: value.idleTimeoutMs } : {}),
      };
    },
  };
}
