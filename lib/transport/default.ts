/**
 * Which datagram engine serves when no transport is given: chosen by
 * measurement (docs/benchmarks.md, "Which engine is the default"). The
 * native batched engine where the addon loads and has it (Linux) and
 * MQTTSN_NATIVE is not 0; node:dgram everywhere else (with MQTTSN_NATIVE=1
 * and no addon, the codec is what reports it, loudly).
 */
import { nativeUdpEnabled, nativeUdpTransport } from './native-udp';
import type { TransportFactory } from './types';
import { udpTransport } from './udp';

/** The engine by the rule above; asked once per gateway or client, when it is made. */
export function measuredDefaultTransport(): TransportFactory {
  return nativeUdpEnabled() ? nativeUdpTransport : udpTransport;
}
