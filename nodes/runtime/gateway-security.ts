/**
 * The gateway node's Security tab as the gateway's `dtls` option: a DTLS
 * listener beside (or instead of) plain UDP, the pre-shared keys from the
 * node's credentials, certificates from files or a tls-config node, client
 * ids bound to identities, and the identity as MQTT username.
 */
import { ErrorCode, MqttSnError, parseClientIdFile, parsePskFile, type GatewayDtlsOptions } from '../../lib';
import { parseFlag, text } from './broker-node';
import type { TlsMaterial } from './tls-config';

export interface GatewaySecurityDef {
  dtls?: boolean | string;
  dtlsPort?: number | string;
  /** No plain UDP listener. */
  dtlsOnly?: boolean | string;
  /** Take the certificates from the tls-config node `tls`. */
  usetls?: boolean | string;
  tls?: string;
  dtlsCertFile?: string;
  dtlsKeyFile?: string;
  dtlsCaFile?: string;
  dtlsRequireClientCert?: boolean | string;
  /** Lines `identity: clientid prefix* ...`, as the command line's --client-ids file. */
  dtlsClientIds?: string;
  dtlsIdentityAsUsername?: boolean | string;
}

/** Kept in Node-RED's credentials store, never in the flow file. */
export interface GatewayCredentials {
  /** The identities, one a line: only for the editor, which never gets the keys back. */
  pskIdentities?: string;
  /** Lines `identity:hexkey`, as the command line's --psk-file. */
  pskKeys?: string;
}

export const DEFAULT_DTLS_PORT = 8883;

function flag(value: unknown): boolean {
  return parseFlag(value) === true;
}

/** Whether the Security tab asks for certificates from a tls-config node. */
export function usesTlsConfig(def: GatewaySecurityDef): boolean {
  return flag(def.dtls) && flag(def.usetls) && text(def.tls) !== undefined;
}

/** The gateway's `dtls` option, or undefined when DTLS is off; throws coded errors for bad settings. */
export function gatewayDtlsOptions(def: GatewaySecurityDef, credentials: GatewayCredentials | undefined, tls: TlsMaterial | undefined): GatewayDtlsOptions | undefined {
  if (!flag(def.dtls)) return undefined;
  const portText = String(def.dtlsPort ?? '').trim();
  const port = portText === '' ? DEFAULT_DTLS_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `The DTLS port must be a number from 0 to 65535, not "${portText}".`);
  }
  const keys = parsePskFile(credentials?.pskKeys ?? '', 'the pre-shared keys');
  const pskKeys = Object.fromEntries([...keys].map(([identity, key]) => [identity, key.toString('hex')]));
  const clientIds = text(def.dtlsClientIds);
  const certificates = tls
    ? { ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}), ...(tls.ca ? { ca: tls.ca } : {}) }
    : {
        ...(text(def.dtlsCertFile) ? { certFile: text(def.dtlsCertFile) } : {}),
        ...(text(def.dtlsKeyFile) ? { keyFile: text(def.dtlsKeyFile) } : {}),
        ...(text(def.dtlsCaFile) ? { caFile: text(def.dtlsCaFile) } : {}),
      };
  return {
    port,
    only: flag(def.dtlsOnly),
    pskKeys,
    ...certificates,
    requireClientCert: flag(def.dtlsRequireClientCert),
    ...(clientIds !== undefined ? { clientIds: parseClientIdFile(clientIds, 'the client ids of the Security tab') } : {}),
    identityAsUsername: flag(def.dtlsIdentityAsUsername),
  };
}
