/**
 * Addresses as the transports, the client and the gateway see them: one
 * definition of an endpoint, of multicast, of "the same address" and of how an
 * address is written in messages.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import { ErrorCode, MqttSnError } from '../errors';

export interface Endpoint {
  address: string;
  port: number;
}

export type Family = 4 | 6;

/** Resolves a host name or literal to one address (IPv4 preferred unless `family` asks for IPv6). */
export async function resolveHost(host: string, family?: Family): Promise<{ address: string; family: Family }> {
  const literal = net.isIP(host);
  if (literal === 4 || literal === 6) return { address: host, family: literal };
  try {
    const found = await dns.promises.lookup(host, { all: true, ...(family ? { family } : {}) });
    // IPv4 first: a gateway listening on 0.0.0.0 or 127.0.0.1 is the common case, whatever order the resolver uses.
    const chosen = found.find((entry) => entry.family === 4) ?? found[0];
    if (!chosen) throw new Error('no address');
    return { address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
  } catch (err) {
    throw new MqttSnError(ErrorCode.DNS_FAILED, `Host name "${host}" could not be resolved: ${(err as Error).message}`);
  }
}

/** 224.0.0.0/4 and ff00::/8. */
export function isMulticast(address: string): boolean {
  if (net.isIPv4(address)) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return net.isIPv6(address) && address.toLowerCase().startsWith('ff');
}

/** host:port, with brackets around an IPv6 address. */
export function formatEndpoint(endpoint: Endpoint): string {
  return net.isIPv6(endpoint.address) ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

/** An address without an IPv4-mapped prefix or zone, in lower case. */
export function plainAddress(address: string): string {
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  return bare.split('%')[0].toLowerCase();
}

/** Whether two addresses name the same host (127.0.0.1 and ::ffff:127.0.0.1 do). */
export function sameAddress(a: string, b: string): boolean {
  return plainAddress(a) === plainAddress(b);
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && sameAddress(a.address, b.address);
}
