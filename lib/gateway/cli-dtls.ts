/**
 * The command line's DTLS flags, turned into the gateway's `dtls` option on
 * top of what --config gave. Files are named here and read when the gateway
 * starts (the PSK and certificate files) or now (the client id file).
 */
import * as fs from 'node:fs';
import { ErrorCode, MqttSnError } from '../errors';
import { parseClientIdFile } from './client-id-rules';
import type { GatewayDtlsOptions } from './dtls-listener';
import type { GatewayOptions } from './options';

export const DTLS_USAGE = `DTLS (docs/security.md):
  --dtls-port N         DTLS 1.2 listener on UDP port N, beside plain UDP
  --dtls-host ADDR      address of the DTLS listener (default: --host)
  --dtls-only           no plain UDP listener: DTLS only
  --psk-file FILE       pre-shared keys, one identity:hexkey per line
  --cert FILE           the gateway's certificate chain (PEM)
  --key FILE            its private key (PEM)
  --ca FILE             CA that client certificates must chain to (PEM)
  --require-client-cert refuse certificate handshakes without a valid client certificate
  --client-ids FILE     which client ids each identity may use: "identity: id prefix* ..."
  --identity-as-username
                        connect to the broker with the DTLS identity as MQTT username
`;

/** Flags that take no value. */
export const DTLS_SWITCHES: ReadonlySet<string> = new Set(['--dtls-only', '--require-client-cert', '--identity-as-username']);

const FLAGS: ReadonlySet<string> = new Set([...DTLS_SWITCHES, '--dtls-port', '--dtls-host', '--psk-file', '--cert', '--key', '--ca', '--client-ids']);

export function isDtlsFlag(flag: string): boolean {
  return FLAGS.has(flag);
}

/** Applies the DTLS flags to `options` (which may hold a `dtls` object from --config). */
export function applyDtlsFlags(options: GatewayOptions, flags: ReadonlyMap<string, string>): void {
  const given = [...flags.keys()].filter(isDtlsFlag);
  if (given.length === 0) return;
  const port = flags.get('--dtls-port');
  if (port === undefined && options.dtls === undefined) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `${given[0]} needs --dtls-port (or a dtls object in --config)`);
  }
  const dtls: GatewayDtlsOptions = { ...(options.dtls ?? { port: 0 }) };
  if (port !== undefined) {
    dtls.port = Number(port);
    if (!Number.isInteger(dtls.port)) throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `--dtls-port needs an integer, got "${port}"`);
  }
  const text = (flag: string): string | undefined => flags.get(flag);
  if (text('--dtls-host') !== undefined) dtls.host = text('--dtls-host');
  if (text('--psk-file') !== undefined) dtls.pskFile = text('--psk-file');
  if (text('--cert') !== undefined) dtls.certFile = text('--cert');
  if (text('--key') !== undefined) dtls.keyFile = text('--key');
  if (text('--ca') !== undefined) dtls.caFile = text('--ca');
  if (flags.has('--dtls-only')) dtls.only = true;
  if (flags.has('--require-client-cert')) dtls.requireClientCert = true;
  if (flags.has('--identity-as-username')) dtls.identityAsUsername = true;
  const idFile = text('--client-ids');
  if (idFile !== undefined) {
    let content: string;
    try {
      content = fs.readFileSync(idFile, 'utf8');
    } catch (error) {
      throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `cannot read ${idFile}: ${(error as Error).message}`);
    }
    dtls.clientIds = parseClientIdFile(content, idFile);
  }
  options.dtls = dtls;
}
