/**
 * The datagram transport seam: the interface, endpoints, and the transports
 * of the package (node:dgram UDP, the native batched UDP engine, the in-memory network).
 */
export type { BatchListener, BindOptions, DatagramTransport, ReceivedDatagram, TransportErrorListener, TransportFactory } from './types';
export { formatEndpoint, isMulticast, resolveHost, sameAddress, sameEndpoint, type Endpoint, type Family } from './endpoint';
export { UdpTransport, udpTransport } from './udp';
export { NativeUdpTransport, nativeUdpTransport, nativeUdpAvailable } from './native-udp';
export {
  MemoryNetwork,
  MemoryTransport,
  type Interceptor,
  type LinkConditions,
  type LinkSelector,
  type MemoryNetworkOptions,
  type NetworkStats,
  type Transit,
  type Verdict,
} from './memory';
export { DtlsTransport, dtlsTransport, type DtlsTransportOptions } from './dtls';
export { parsePskFile, readDtlsFiles, readPskFile, type DtlsClientOptions, type DtlsServerOptions } from './dtls-options';
