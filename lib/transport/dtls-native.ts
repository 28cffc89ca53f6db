/**
 * The addon's DTLS classes (native/dtls*.cc) as TypeScript sees them, and
 * the one place that loads them: without the addon, DTLS fails at once with
 * SECURITY_LIBRARY (270) while plain UDP keeps working. DTLS has no
 * TypeScript twin, so MQTTSN_NATIVE (which picks between twins) does not
 * apply: the addon is used whenever it loads.
 */
import { ErrorCode, MqttSnError } from '../errors';
import { loadAddon } from '../native';
import type { NativeContextOptions } from './dtls-options';

/** Bits of what a connection operation produced (native/dtls.h, DtlsResult). */
export const DtlsResult = {
  OUTPUT: 1,
  DATA: 2,
  CONNECTED: 4,
  CLOSED: 8,
  FAILED: 16,
} as const;

export interface NativeDtlsContext {
  /** A HelloVerifyRequest to send back, null for silence, or true: construct a Connection to take the handshake. */
  accept(datagram: Buffer, peer: string, ipv6: boolean): Buffer | null | true;
  setPskKeys(keys: Record<string, Buffer>): void;
}

export interface NativeDtlsConnection {
  start(): number;
  receive(datagram: Buffer): number;
  write(plaintext: Buffer): number;
  timeout(): number;
  shutdown(): number;
  takeOutput(): Buffer[];
  takeData(): Buffer[];
  /** Milliseconds until the retransmission timer fires, or -1. */
  nextTimeout(): number;
  info(): { identity: string; cipher: string; resumed: boolean; dataMtu: number };
  error(): { code: number; message: string } | null;
  free(): void;
}

export interface NativeDtlsBinding {
  Context: new (options: NativeContextOptions) => NativeDtlsContext;
  Connection: new (context: NativeDtlsContext, peer: string, ipv6: boolean, hostname?: string) => NativeDtlsConnection;
}

/** The addon's DTLS classes; throws SECURITY_LIBRARY when the addon is not in use. */
export function loadDtlsBinding(): NativeDtlsBinding {
  const { addon, error } = loadAddon();
  const dtls = (addon as { dtls?: NativeDtlsBinding } | null)?.dtls;
  if (!dtls) {
    const reason = addon ? 'this build of the addon has no DTLS; rebuild it' : `it did not load: ${error?.message.split('\n')[0] ?? 'unknown error'}`;
    throw new MqttSnError(
      ErrorCode.SECURITY_LIBRARY,
      `DTLS needs the native addon (${reason}). ` +
        'Build it with `npx node-gyp rebuild`; plain UDP works without it.',
    );
  }
  return dtls;
}

/** Runs an addon call that may throw, turning its error into the coded MqttSnError it carries. */
export function coded<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    const code = (error as { dtlsCode?: number }).dtlsCode;
    if (typeof code === 'number') throw new MqttSnError(code, (error as Error).message);
    throw error;
  }
}
