/**
 * Node-RED's TLS configuration node (core's `tls-config`) as the source of
 * DTLS certificates: its certificate, key and CA (files it read, or PEM text
 * uploaded into its credentials), its server name and its "verify server
 * certificate" setting, taken through `addTLSOptions` as core's MQTT node
 * takes them.
 */
import { createPrivateKey } from 'node:crypto';
import { ErrorCode, MqttSnError } from '../../lib';
import type { Node, NodeAPI } from './red';

/** The part of core's tls-config node used here. */
export interface TlsConfigNode extends Node {
  valid?: boolean;
  addTLSOptions(options: Record<string, unknown>): Record<string, unknown>;
}

/** PEM text from a TLS configuration, with its verification setting. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  /** "Verify server certificate". */
  verify: boolean;
}

function pem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  return text.trim() === '' ? undefined : text;
}

/** An encrypted key made plain PEM (the DTLS layer takes unencrypted keys only). */
function decrypted(key: string, passphrase: string): string {
  try {
    return createPrivateKey({ key, passphrase, format: 'pem' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (error) {
    throw new MqttSnError(ErrorCode.CREDENTIALS, `The private key of the TLS configuration cannot be decrypted with its passphrase: ${(error as Error).message}`);
  }
}

/**
 * The material of the tls-config node `id`; a missing or invalid one is a
 * coded error (never a silent fall back to no certificates).
 */
export function tlsMaterial(RED: NodeAPI, id: string): TlsMaterial {
  const node = RED.nodes.getNode(id) as TlsConfigNode | null;
  if (!node || typeof node.addTLSOptions !== 'function') {
    throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `The TLS configuration ${id} is missing: select one in the Security tab, or deploy it.`);
  }
  if (node.valid === false) {
    // The tls-config node logged why (a file it could not read, a certificate without its key).
    throw new MqttSnError(ErrorCode.CERTIFICATE_NOT_FOUND, `The TLS configuration ${node.name || id} is not valid: see its error in the log.`);
  }
  const options = node.addTLSOptions({});
  const key = pem(options.key);
  const passphrase = typeof options.passphrase === 'string' && options.passphrase !== '' ? options.passphrase : undefined;
  const servername = typeof options.servername === 'string' && options.servername.trim() !== '' ? options.servername.trim() : undefined;
  const material: TlsMaterial = { verify: options.rejectUnauthorized !== false };
  const ca = pem(options.ca);
  const cert = pem(options.cert);
  if (ca !== undefined) material.ca = ca;
  if (cert !== undefined) material.cert = cert;
  if (key !== undefined) material.key = passphrase ? decrypted(key, passphrase) : key;
  if (servername !== undefined) material.servername = servername;
  return material;
}
