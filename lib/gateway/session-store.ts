/**
 * The aggregating gateway's session table kept outside its memory, so that the
 * sessions of clients with clean session off outlive a gateway restart: their
 * subscriptions, their will, whether they sleep (and where), and the QoS 1/2
 * messages queued for them. (A transparent gateway needs none: the broker
 * keeps each client's persistent MQTT session.)
 *
 * A file by default (`fileSessionStore`); any object with load() and save()
 * may stand in for it (a database, say).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SessionQoS } from '../codec/packets';
import type { DownstreamMessage } from './message-queue';
import type { Will } from './ports';

/** One client's session as stored. */
export interface StoredSession {
  clientId: string;
  subscriptions: Array<[filter: string, qos: SessionQoS]>;
  /** QoS 1/2 messages not yet acknowledged by the client, oldest first. */
  messages: DownstreamMessage[];
  will?: Will;
  keepAlive: number;
  /** Present while the client sleeps: restored asleep, reachable at this address. */
  asleep?: { address: string; port: number; seconds: number };
}

export interface SessionStore {
  /** Every session stored; none when nothing was stored yet. Throws when the store cannot be read. */
  load(): StoredSession[];
  /** Replaces what is stored with `sessions`. Throws when it cannot be written. */
  save(sessions: StoredSession[]): void;
}

/** Buffers as base64 text in JSON. */
interface Encoded {
  clientId: string;
  subscriptions: Array<[string, SessionQoS]>;
  messages: Array<{ topic: string; payload: string; qos: SessionQoS; retain: boolean }>;
  will?: { topic: string; payload: string; qos: SessionQoS; retain: boolean };
  keepAlive: number;
  asleep?: { address: string; port: number; seconds: number };
}

const FORMAT = 1;

function encodeSession(s: StoredSession): Encoded {
  const text = <T extends { payload: Buffer }>(m: T): Omit<T, 'payload'> & { payload: string } => ({ ...m, payload: m.payload.toString('base64') });
  return {
    clientId: s.clientId,
    subscriptions: s.subscriptions,
    messages: s.messages.map(text),
    ...(s.will ? { will: text(s.will) } : {}),
    keepAlive: s.keepAlive,
    ...(s.asleep ? { asleep: s.asleep } : {}),
  };
}

function decodeSession(e: Encoded): StoredSession {
  const bytes = <T extends { payload: string }>(m: T): Omit<T, 'payload'> & { payload: Buffer } => ({ ...m, payload: Buffer.from(m.payload, 'base64') });
  if (typeof e.clientId !== 'string' || !Array.isArray(e.subscriptions) || !Array.isArray(e.messages) || typeof e.keepAlive !== 'number') {
    throw new Error('not a stored session');
  }
  return {
    clientId: e.clientId,
    subscriptions: e.subscriptions,
    messages: e.messages.map(bytes),
    ...(e.will ? { will: bytes(e.will) } : {}),
    keepAlive: e.keepAlive,
    ...(e.asleep ? { asleep: e.asleep } : {}),
  };
}

/**
 * The sessions in one JSON file, replaced whole: written to a file beside it and renamed over
 * it, so that a gateway killed while writing leaves the previous table, never half of one.
 */
export function fileSessionStore(file: string): SessionStore {
  const aside = path.join(path.dirname(file), `.${path.basename(file)}.writing`);
  return {
    load() {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const stored = JSON.parse(text) as { format?: number; sessions?: Encoded[] };
      if (stored.format !== FORMAT || !Array.isArray(stored.sessions)) throw new Error(`${file} is not a session table of this gateway`);
      return stored.sessions.map(decodeSession);
    },
    save(sessions) {
      fs.writeFileSync(aside, JSON.stringify({ format: FORMAT, sessions: sessions.map(encodeSession) }));
      fs.renameSync(aside, file);
    },
  };
}
