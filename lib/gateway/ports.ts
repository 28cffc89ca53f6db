/**
 * What a session needs from the world around it: the broker side (an
 * UpstreamLink), time (SessionTimers) and the gateway (SessionHost). The
 * protocol layer defines these; the I/O layer implements them.
 */
import type { Packet, SessionQoS } from '../codec/packets';
import type { DownstreamMessage } from './message-queue';
import type { LogLevel, ResolvedOptions } from './options';
import type { GatewayStats } from './stats';

export interface Will {
  topic: string;
  payload: Buffer;
  qos: SessionQoS;
  retain: boolean;
}

export interface OpenParams {
  clientId: string;
  cleanSession: boolean;
  keepAlive: number;
  will: Will | undefined;
}

/** The broker side of one session (a connection of its own, or a share of one). */
export interface UpstreamLink {
  open(params: OpenParams, done: (error?: Error) => void): void;
  /** False while the broker connection is lost and being made again. */
  readonly available: boolean;
  /** Re-establishes subscriptions a persistent session had (cleanSession off); `done` once the broker has them, when it tells. */
  restore(subscriptions: ReadonlyMap<string, SessionQoS>, done?: () => void): void;
  publish(message: DownstreamMessage, done: (error?: Error) => void): void;
  /** `granted` is 0-2, or 128 when the broker refused. */
  subscribe(filter: string, qos: SessionQoS, done: (granted: number) => void): void;
  unsubscribe(filter: string, done: () => void): void;
  setWill(will: Will | undefined, done: (error?: Error) => void): void;
  /** Ends the broker side; `publishWill` when the client was lost. */
  close(publishWill: boolean): void;
}

/** What the broker side reports to the session. */
export interface UpstreamSink {
  /**
   * A message from the broker. `accepted` runs once the session has taken it (queued for the
   * client, or dropped for a reason it counts): until then the broker is not told it arrived.
   */
  deliver(message: DownstreamMessage, accepted: () => void): void;
  upstreamLost(reason: string): void;
  /**
   * The broker connection was lost and is made again; `sessionPresent` when the broker kept the
   * session, and so redelivers what it had not been told arrived.
   */
  upstreamResumed(sessionPresent: boolean): void;
}

/** Injectable time: real timers in the gateway, a manual clock in tests. */
export interface SessionTimers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export type EndReason = 'disconnected' | 'lost' | 'replaced' | 'refused' | 'upstream' | 'shutdown';

/** The gateway as a session sees it; `S` is the session type. */
export interface SessionHost<S = unknown> {
  readonly options: ResolvedOptions;
  readonly timers: SessionTimers;
  readonly stats: GatewayStats;
  /**
   * Whether `bytes` more octets fit a session that holds `sessionHolds` and
   * all sessions together (limits.sessionBytes, limits.totalBytes); counted when
   * they do. Absent: no memory limits.
   */
  takeMemory?(sessionHolds: number, bytes: number): 'ok' | 'sessionBytes' | 'totalBytes';
  send(session: S, packet: Packet): void;
  log(level: LogLevel, message: string): void;
  connected(session: S): void;
  ended(session: S, reason: EndReason): void;
  /** Something the session store keeps may have changed (a packet, a message, the end). Absent: nothing kept. */
  changed?(session: S): void;
}
