/**
 * UDP for the client: one socket for gateway traffic (IPv4 or IPv6, picked
 * from the addresses involved), names resolved through DNS, broadcast
 * allowed so 255.255.255.255 works, and an optional second socket bound to
 * the discovery port (shared with other listeners, joined to the group when
 * the discovery address is multicast).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import { ErrorCode, MqttSnError } from '../errors';
import { formatEndpoint, isMulticast, plainAddress, type Endpoint, type Family } from '../transport/endpoint';

export { formatEndpoint, isMulticast, resolveHost, type Endpoint, type Family } from '../transport/endpoint';

export type DatagramListener = (datagram: Buffer, from: Endpoint) => void;

function socketError(err: unknown, what: string): MqttSnError {
  return new MqttSnError(ErrorCode.SOCKET_ERROR, `${what}: ${(err as Error).message}`);
}

async function bind(socket: dgram.Socket, port: number, address: string | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export class UdpTransport {
  private socket: dgram.Socket | undefined;
  private family: Family | undefined;
  private discoverySocket: dgram.Socket | undefined;
  private discoveryOpening = false;

  constructor(
    private readonly onDatagram: DatagramListener,
    private readonly onError: (error: MqttSnError) => void,
  ) {}

  get active(): boolean {
    return this.socket !== undefined;
  }

  /** The bound local address and port while active. */
  localAddress(): Endpoint | undefined {
    if (!this.socket) return undefined;
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** True for a datagram from this transport's own gateway socket: a broadcast or multicast it sent, looped back. */
  sentByUs(from: Endpoint): boolean {
    const local = this.localAddress();
    if (!local || local.port !== from.port) return false;
    if (local.address !== '0.0.0.0' && local.address !== '::') return plainAddress(local.address) === plainAddress(from.address);
    return Object.values(os.networkInterfaces()).some((list) =>
      (list ?? []).some((entry) => plainAddress(entry.address) === plainAddress(from.address)),
    );
  }

  /** Opens the gateway socket for `family` (reopens it when the family changes). */
  async open(family: Family, localHost: string, localPort: number): Promise<void> {
    if (this.socket && this.family === family) return;
    this.closeGatewaySocket();
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    try {
      await bind(socket, localPort, localHost === '' ? undefined : localHost);
      if (family === 4) socket.setBroadcast(true);
    } catch (err) {
      socket.close();
      throw socketError(err, `Cannot bind UDP ${localHost || '*'}:${localPort}`);
    }
    socket.on('message', (datagram, rinfo) => this.onDatagram(datagram, { address: rinfo.address, port: rinfo.port }));
    socket.on('error', (err) => this.onError(socketError(err, 'UDP socket error')));
    this.socket = socket;
    this.family = family;
  }

  send(datagram: Buffer, to: Endpoint): void {
    // Without a gateway socket, a listener that answers discovery sends from the discovery port.
    const socket = this.socket ?? this.discoverySocket;
    if (!socket) throw new MqttSnError(ErrorCode.UDP_NOT_ACTIVE);
    socket.send(datagram, to.port, to.address, (err) => {
      if (err) this.onError(socketError(err, `Cannot send to ${formatEndpoint(to)}`));
    });
  }

  /** Binds the shared discovery port (and joins the group when `address` is multicast). */
  async listenDiscovery(address: string, port: number, localHost: string): Promise<void> {
    if (this.discoverySocket || this.discoveryOpening) return;
    const family: Family = net.isIPv6(address) ? 6 : 4;
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    this.discoveryOpening = true;
    try {
      await bind(socket, port, undefined);
      if (isMulticast(address)) {
        socket.addMembership(address, localHost === '' ? undefined : localHost);
        if (localHost !== '') socket.setMulticastInterface(localHost);
      }
      if (family === 4) socket.setBroadcast(true);
    } catch (err) {
      socket.close();
      throw socketError(err, `Cannot listen for discovery on port ${port}`);
    } finally {
      this.discoveryOpening = false;
    }
    socket.on('message', (datagram, rinfo) => this.onDatagram(datagram, { address: rinfo.address, port: rinfo.port }));
    socket.on('error', (err) => this.onError(socketError(err, 'Discovery socket error')));
    this.discoverySocket = socket;
  }

  /** Multicast sends leave through localHost's interface when one is set. */
  setMulticastInterface(localHost: string): void {
    if (this.socket && localHost !== '') {
      try {
        this.socket.setMulticastInterface(localHost);
      } catch {
        // Not a usable interface address: the system default stays.
      }
    }
  }

  /** Whether the gateway socket keeps the process alive (a connectionless sender should not). */
  hold(keepAlive: boolean): void {
    if (keepAlive) this.socket?.ref();
    else this.socket?.unref();
  }

  get listening(): boolean {
    return this.discoverySocket !== undefined || this.discoveryOpening;
  }

  closeDiscoverySocket(): void {
    const discovery = this.discoverySocket;
    this.discoverySocket = undefined;
    if (discovery) discovery.close();
  }

  closeGatewaySocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.family = undefined;
    if (socket) socket.close();
  }

  close(): void {
    this.closeGatewaySocket();
    this.closeDiscoverySocket();
  }
}
