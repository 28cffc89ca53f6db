/**
 * The datagram transport seam. The client and the gateway speak MQTT-SN
 * through this interface and never touch a socket themselves; each transport
 * (node:dgram UDP, the native batched engine, DTLS, the in-memory pair used by
 * tests) implements it.
 */
import type { Packet } from '../codec/packets';
import type { MqttSnError } from '../errors';
import type { Endpoint, Family } from './endpoint';

/** One datagram as it arrived. */
export interface ReceivedDatagram {
  /** The octets (a DTLS transport gives the decrypted application data). */
  readonly data: Buffer;
  readonly from: Endpoint;
  /**
   * Set by a transport that decodes at the socket (the native engine): the
   * packet, or the decoding error. When neither is set the receiver decodes
   * `data` itself.
   */
  readonly packet?: Packet;
  readonly error?: MqttSnError;
  /** The authenticated peer (DTLS: PSK identity or certificate subject). */
  readonly identity?: string;
}

export interface BindOptions {
  family: Family;
  /** Local address; '' or undefined binds every interface. */
  address?: string;
  /** Local port; 0 or undefined picks a free one. */
  port?: number;
  /** Shares the port with other sockets (SO_REUSEADDR: discovery listeners). */
  reuseAddress?: boolean;
  /** Spreads one port over several processes (SO_REUSEPORT: gateway workers). */
  reusePort?: boolean;
  /**
   * With reusePort, on the native engine: the kernel hands every unicast
   * SEARCHGW sent to the port (plain or encapsulated) to the socket that bound
   * it first, the one that answers discovery, whichever sender it comes from.
   * Other transports cannot share a port and ignore it.
   */
  searchToFirst?: boolean;
  /** Allows sending to broadcast addresses (IPv4). */
  broadcast?: boolean;
  /** Kernel receive buffer size in octets. */
  receiveBufferBytes?: number;
  /** Kernel send buffer size in octets. */
  sendBufferBytes?: number;
}

export type BatchListener = (batch: readonly ReceivedDatagram[]) => void;
export type TransportErrorListener = (error: MqttSnError) => void;

export interface DatagramTransport {
  /** Which implementation this is: 'udp', 'native-udp', 'dtls', 'memory'. */
  readonly kind: string;
  /** True between a successful bind() and close(). */
  readonly bound: boolean;
  /** Binds the socket; rejects with a coded MqttSnError (SOCKET_ERROR) when it cannot. */
  bind(options: BindOptions): Promise<void>;
  /** The bound local address and port, or undefined when not bound. */
  localAddress(): Endpoint | undefined;
  /**
   * Sends one datagram. A transport may queue it and flush everything queued
   * once per event-loop turn; order per destination is kept. Failures are
   * reported through onError, never thrown for a well-formed call.
   */
  send(data: Buffer, to: Endpoint): void;
  /**
   * Encodes and sends one packet; returns the encoded size. A transport that
   * encodes at the socket does the encoding there; others encode with lib/codec.
   * Throws MqttSnError for a packet that cannot be encoded.
   */
  sendPacket(packet: Packet, to: Endpoint): number;
  /** Datagrams arrive in batches, in arrival order (a batch may hold one). */
  onReceive(listener: BatchListener): void;
  /** Socket errors after bind (ICMP unreachable, send failures, DTLS alerts). */
  onError(listener: TransportErrorListener): void;
  /** Joins a multicast group on the interface with address `iface` (default: the system's choice). */
  addMembership(group: string, iface?: string): void;
  /** Multicast sends leave through the interface with this address. */
  setMulticastInterface(iface: string): void;
  /** Whether the socket keeps the process alive. */
  ref(): void;
  unref(): void;
  /**
   * Optional, for transports with a handshake (DTLS): resolves once `to` can
   * receive data, rejects with a coded error when the handshake fails.
   */
  connect?(to: Endpoint): Promise<void>;
  /** Closes the socket; datagrams queued before close are sent first. Idempotent. */
  close(): Promise<void>;
}

/** Makes a fresh, unbound transport: how the client and the gateway are given their transport. */
export type TransportFactory = () => DatagramTransport;
