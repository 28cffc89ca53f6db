/** The TypeScript codec: the reference behaviour the native addon mirrors. */
import type { Codec } from './packets';
import { decodePacket } from './ts/decode';
import { encodePacket } from './ts/encode';

export const tsCodec: Codec = {
  name: 'ts',
  encode: encodePacket,
  decode: decodePacket,
};
