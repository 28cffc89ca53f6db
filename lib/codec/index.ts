/**
 * The codec in use, chosen on first use by the rule every twin follows
 * (lib/native.ts twinAddon): MQTTSN_NATIVE=1 the native addon (a missing one is
 * a loud error), 0 or unset the TypeScript twin, without loading the addon.
 * Measured with `npm run bench`, the TypeScript codec encodes and decodes
 * typical MQTT-SN packets faster than any call across Node-API can (see
 * docs/codec.md). Both behave identically.
 */
import { twinAddon } from '../native';
import { createNativeCodec } from './native-codec';
import type { Codec, Packet } from './packets';
import { tsCodec } from './ts-codec';

let active: Codec | undefined;

function activeCodec(): Codec {
  if (!active) {
    const addon = twinAddon();
    active = addon ? createNativeCodec(addon) : tsCodec;
  }
  return active;
}

/** Encodes one packet into a new Buffer; throws MqttSnError on invalid input. */
export function encode(packet: Packet): Buffer {
  return activeCodec().encode(packet);
}

/** Decodes one datagram; throws MqttSnError on malformed input. */
export function decode(datagram: Uint8Array): Packet {
  return activeCodec().decode(datagram);
}

/** 'native' or 'ts': the codec encode() and decode() use (choosing it if not yet done). */
export function codecImplementation(): 'native' | 'ts' {
  return activeCodec().name;
}

/** The codec in use as an object, e.g. to hand to code that takes a Codec. */
export const codec: Codec = {
  get name() {
    return codecImplementation();
  },
  encode,
  decode,
};

export * from './packets';
