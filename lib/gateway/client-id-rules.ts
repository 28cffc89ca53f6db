/**
 * Which MQTT-SN client ids a DTLS identity (PSK identity or certificate
 * common name) may use. Without rules every client may use any id. With
 * rules, an identity may use the ids listed for it (an id ending in `*`
 * stands for every id with that prefix), an identity without a list only the
 * id equal to itself, and a client without an identity (plain UDP) no id that
 * some identity holds: knowing a client id is then not enough to take over its
 * session.
 */
import { ErrorCode, MqttSnError } from '../errors';

/** Identity → client ids (exact, or a prefix ending in `*`). */
export type ClientIdBindings = Readonly<Record<string, readonly string[]>>;

function matches(pattern: string, clientId: string): boolean {
  return pattern.endsWith('*') ? clientId.startsWith(pattern.slice(0, -1)) : pattern === clientId;
}

export class ClientIdRules {
  private readonly bindings: Map<string, readonly string[]>;

  constructor(bindings: ClientIdBindings | undefined) {
    this.bindings = new Map(Object.entries(bindings ?? {}));
    this.active = bindings !== undefined;
  }

  /** Whether any rule applies. */
  readonly active: boolean;

  /** Why `identity` may not use `clientId`, or undefined when it may. */
  refusal(clientId: string, identity: string | undefined): string | undefined {
    if (!this.active) return undefined;
    if (identity === undefined) {
      const holder = [...this.bindings].find(([name, ids]) => name === clientId || ids.some((id) => matches(id, clientId)));
      return holder ? `client id ${clientId} belongs to DTLS identity "${holder[0]}"; a client without DTLS may not use it` : undefined;
    }
    const allowed = this.bindings.get(identity) ?? [identity];
    return allowed.some((id) => matches(id, clientId)) ? undefined : `DTLS identity "${identity}" may not use client id ${clientId}`;
  }
}

/** Checks bindings given as options (a JSON object of identity to an array of ids). */
export function checkClientIdBindings(value: unknown, name: string): ClientIdBindings | undefined {
  if (value === undefined) return undefined;
  const invalid = (why: string): MqttSnError => new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Invalid gateway option: ${name} ${why}.`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('must be an object of identity to client ids');
  const result: Record<string, string[]> = {};
  for (const [identity, ids] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '' || id === '*')) {
      throw invalid(`for "${identity}" must be an array of client ids (a trailing * matches a prefix; * alone is not allowed)`);
    }
    result[identity] = [...(ids as string[])];
  }
  return result;
}

/**
 * Parses a client id file: one `identity: id id prefix*` per line; blank
 * lines and lines starting with # are skipped. The last colon separates, as
 * in the PSK file.
 */
export function parseClientIdFile(content: string, name = 'the client id file'): Record<string, string[]> {
  const bindings: Record<string, string[]> = {};
  content.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.lastIndexOf(':');
    const identity = line.slice(0, colon).trim();
    const ids = line.slice(colon + 1).trim().split(/\s+/).filter((id) => id !== '');
    if (colon <= 0 || identity === '' || ids.length === 0) {
      throw new MqttSnError(ErrorCode.INVALID_ARGUMENT, `${name}, line ${index + 1}: expected "identity: clientid ..."`);
    }
    bindings[identity] = [...(bindings[identity] ?? []), ...ids];
  });
  return checkClientIdBindings(bindings, name) as Record<string, string[]>;
}
