/** Payload conversions between Node-RED messages and MQTT-SN publishes. */
import { isUtf8 } from 'node:buffer';

/**
 * How an in node presents what it received, as the core MQTT in node offers:
 * 'auto' parsed JSON, a string or a Buffer; 'auto-string' a string or a Buffer;
 * always a string, parsed JSON, a Buffer, or the bytes in base64.
 */
export type PayloadFormat = 'auto' | 'auto-string' | 'utf8' | 'json' | 'buffer' | 'base64';

const FORMATS: ReadonlySet<string> = new Set<PayloadFormat>(['auto', 'auto-string', 'utf8', 'json', 'buffer', 'base64']);

export function parseFormat(value: unknown): PayloadFormat | undefined {
  return typeof value === 'string' && FORMATS.has(value) ? (value as PayloadFormat) : undefined;
}

/** What goes on the wire for msg.payload: Buffers as they are, objects as JSON, the rest as text. */
export function toWire(payload: unknown): Buffer | string {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload === null || payload === undefined) return '';
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (typeof payload === 'object') return JSON.stringify(payload);
  return String(payload);
}

/**
 * The other way. 'auto' gives parsed JSON when the text is JSON, else the
 * text when it is UTF-8, else the Buffer. 'json' throws when it cannot parse.
 */
export function fromWire(bytes: Buffer, format: PayloadFormat): unknown {
  switch (format) {
    case 'buffer':
      return bytes;
    case 'utf8':
      return bytes.toString('utf8');
    case 'base64':
      return bytes.toString('base64');
    case 'auto-string':
      return isUtf8(bytes) ? bytes.toString('utf8') : bytes;
    case 'json':
      if (!isUtf8(bytes)) throw new Error('payload is not UTF-8 text, so not JSON');
      return JSON.parse(bytes.toString('utf8'));
    case 'auto': {
      if (!isUtf8(bytes)) return bytes;
      const text = bytes.toString('utf8');
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
  }
}
