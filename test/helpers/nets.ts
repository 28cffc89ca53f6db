/**
 * The datagram networks a suite runs over (the abstract-suite pattern: the
 * same suite function called once per network): real UDP on loopback through
 * node:dgram, through the native batched engine, and the in-memory network. A
 * suite opens one per run and closes it at the end.
 *
 * `npm test` runs everything twice, once per implementation (MQTTSN_NATIVE=1,
 * then 0). Each pass takes the UDP engine of its implementation, so every
 * suite runs over each engine once per `npm test`, and over the in-memory
 * network with each codec twin; mocha run by hand, without MQTTSN_NATIVE,
 * takes all three.
 */
import { MemoryNetwork } from '../../lib/transport/memory';
import { nativeUdpTransport } from '../../lib/transport/native-udp';
import type { TransportFactory } from '../../lib/transport/types';
import { udpTransport } from '../../lib/transport/udp';

export interface OpenNet {
  /** Makes the transports of the gateway and the clients of one suite: they reach each other. */
  readonly transport: TransportFactory;
  /** The in-memory network, to set loss and the like (undefined over UDP). */
  readonly memory: MemoryNetwork | undefined;
  close(): void;
}

export interface NetUnderTest {
  /** Name in test titles; also the transport kind the gateway logs ('udp', 'memory'). */
  readonly name: 'udp' | 'native-udp' | 'memory';
  open(): OpenNet;
}

export const UDP_NET: NetUnderTest = {
  name: 'udp',
  open: () => ({ transport: udpTransport, memory: undefined, close: () => undefined }),
};

export const MEMORY_NET: NetUnderTest = {
  name: 'memory',
  open: () => {
    const memory = new MemoryNetwork();
    return { transport: memory.factory, memory, close: () => memory.close() };
  },
};

/** The native batched engine on loopback (the addon is built wherever the tests run, both passes). */
export const NATIVE_UDP_NET: NetUnderTest = {
  name: 'native-udp',
  open: () => ({ transport: nativeUdpTransport, memory: undefined, close: () => undefined }),
};

/** The UDP engines of this pass: the one MQTTSN_NATIVE names, or both. */
function passEngines(): NetUnderTest[] {
  const pass = process.env.MQTTSN_NATIVE;
  if (pass === '1') return [NATIVE_UDP_NET];
  if (pass === '0') return [UDP_NET];
  return [UDP_NET, NATIVE_UDP_NET];
}

export const NETS: readonly NetUnderTest[] = [...passEngines(), MEMORY_NET];

/** The networks of real UDP sockets: for what only sockets have (IPv6, ICMP, broadcast, DTLS between processes). */
export const UDP_NETS: readonly NetUnderTest[] = passEngines();
