/**
 * Codec failures. Both implementations build their errors here, so the same
 * malformation gives the same code and the same description text on either path.
 */
import { ErrorDescription, MqttSnError } from '../errors';
import { PacketTypeName } from './packets';

/**
 * The error for `code`, prefixed with the name of the packet type being decoded
 * or encoded when it is known (`context` is the message type octet, or -1).
 */
export function codecError(code: number, context: number): MqttSnError {
  const text = ErrorDescription[code] ?? `Error ${code}`;
  const name = context >= 0 ? PacketTypeName[context] : undefined;
  return new MqttSnError(code, name ? `${name}: ${text}` : text);
}
