/**
 * The codec in use. MQTTSN_NATIVE=1 selects the native addon (and fails loudly
 * when it is missing), MQTTSN_NATIVE=0 the TypeScript twin. Unset, the
 * TypeScript codec is used even when the addon loads: measured with
 * `npm run bench`, it encodes and decodes typical MQTT-SN packets faster than
 * any call across Node-API can (see docs/codec.md). Both behave identically.
 */
import { loadNative, nativeMode } from '../native';
import type { Codec, Packet } from './packets';
import { tsCodec } from './ts-codec';
import { createNativeCodec } from './native-codec';

function selectCodec(): Codec {
  const addon = loadNative();
  return addon && nativeMode() === 'force' ? createNativeCodec(addon) : tsCodec;
}

/** The active implementation. */
export const codec: Codec = selectCodec();

/** 'native' or 'ts'. */
export const codecImplementation: 'native' | 'ts' = codec.name;

/** Encodes one packet into a new Buffer; throws MqttSnError on invalid input. */
export function encode(packet: Packet): Buffer {
  return codec.encode(packet);
}

/** Decodes one datagram; throws MqttSnError on malformed input. */
export function decode(datagram: Uint8Array): Packet {
  return codec.decode(datagram);
}

export { tsCodec, createNativeCodec };
export * from './packets';
