/**
 * Loads the addon's codec directly, whatever MQTTSN_NATIVE says, so the
 * differential test compares both paths whenever the addon is built.
 */
import * as path from 'node:path';
import { createNativeCodec } from '../../lib/codec/native-codec';
import type { Codec } from '../../lib/codec/packets';
import type { NativeAddon } from '../../lib/native';

export function loadNativeCodecDirectly(): { codec: Codec | null; error: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    return { codec: createNativeCodec(load(path.resolve(__dirname, '..', '..', '..'))), error: '' };
  } catch (err) {
    return { codec: null, error: (err as Error).message };
  }
}
