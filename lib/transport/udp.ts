/**
 * The node:dgram transport: one UDP socket (IPv4 or IPv6). The only place in
 * the package that imports node:dgram.
 *
 * node:dgram reports one datagram per 'message' event; the datagrams read in
 * one poll of the event loop reach onReceive as one batch. It sends one
 * datagram per call, so a flush is a loop of sends; the order per destination
 * is the socket's order. ICMP errors reach a UDP socket only once it is
 * connected to its peer (connect()): a port unreachable then comes through
 * onError as PORT_UNREACHABLE, other socket errors as SOCKET_ERROR.
 */
import * as dgram from 'node:dgram';
import { ErrorCode, MqttSnError } from '../errors';
import { formatEndpoint, sameEndpoint, type Endpoint } from './endpoint';
import { QueuedTransport, socketError } from './queued';
import type { BindOptions, TransportFactory } from './types';

export class UdpTransport extends QueuedTransport {
  readonly kind = 'udp';
  private socket: dgram.Socket | undefined;
  private keepAlive = true;
  /** Sends handed to node:dgram and not yet done: close waits for them (dgram resolves the address asynchronously). */
  private sending = 0;
  private drained: (() => void) | undefined;
  /** The one peer the socket is connected to (connect()), if any. */
  private peer: Endpoint | undefined;

  localAddress(): Endpoint | undefined {
    if (!this.bound || !this.socket) return undefined;
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** Throws a coded error (SOCKET_ERROR) when the group or interface is not usable. */
  addMembership(group: string, iface?: string): void {
    const socket = this.boundSocket('join a multicast group');
    try {
      socket.addMembership(group, iface);
    } catch (error) {
      throw socketError(`Cannot join multicast group ${group}${iface ? ` on ${iface}` : ''}`, error);
    }
  }

  /** Throws a coded error (SOCKET_ERROR) when `iface` is not an address of this host. */
  setMulticastInterface(iface: string): void {
    const socket = this.boundSocket('choose a multicast interface');
    try {
      socket.setMulticastInterface(iface);
    } catch (error) {
      throw socketError(`Cannot send multicast through ${iface}`, error);
    }
  }

  /**
   * Connects the socket to `to`, the one peer it talks to (the client's
   * gateway): the kernel then tells of an ICMP port unreachable for it, which
   * an unconnected UDP socket never hears, and localAddress() shows the
   * address of the interface the route to `to` uses. A send to anyone else
   * (a SEARCHGW broadcast, another gateway) disconnects the socket first; on
   * Linux a socket bound to port 0 then sends from a new port, so the client
   * probes with a socket of its own (RouteProbe) rather than connecting the
   * one its gateway knows.
   */
  async connect(to: Endpoint): Promise<void> {
    const socket = this.boundSocket('connect');
    if (this.peer && sameEndpoint(this.peer, to)) return;
    this.disconnectPeer(socket);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(socketError(`Cannot connect to ${formatEndpoint(to)}`, error));
      socket.once('error', failed);
      socket.connect(to.port, to.address, () => {
        socket.off('error', failed);
        resolve();
      });
    });
    this.peer = { address: to.address, port: to.port };
  }

  private disconnectPeer(socket: dgram.Socket): void {
    if (!this.peer) return;
    this.peer = undefined;
    try {
      socket.disconnect();
    } catch {
      // not connected after all
    }
  }

  ref(): void {
    this.keepAlive = true;
    this.socket?.ref();
  }

  unref(): void {
    this.keepAlive = false;
    this.socket?.unref();
  }

  protected async open(options: BindOptions): Promise<void> {
    if (options.reusePort) {
      // node:dgram of Node.js 20 has no SO_REUSEPORT; sharing a port over processes needs the native transport.
      throw new MqttSnError(ErrorCode.SOCKET_ERROR, 'The udp transport cannot share a port over processes (reusePort): node:dgram does not support SO_REUSEPORT.');
    }
    const socket = dgram.createSocket({ type: options.family === 6 ? 'udp6' : 'udp4', reuseAddr: options.reuseAddress === true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: options.port ?? 0, address: options.address || undefined, exclusive: false }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (options.broadcast) socket.setBroadcast(true);
    } catch (error) {
      socket.close();
      throw error;
    }
    // The kernel may cap buffer sizes (net.core.rmem_max): a refused size keeps the system default.
    if (options.receiveBufferBytes) attempt(() => socket.setRecvBufferSize(options.receiveBufferBytes as number));
    if (options.sendBufferBytes) attempt(() => socket.setSendBufferSize(options.sendBufferBytes as number));
    if (!this.keepAlive) socket.unref();
    socket.on('message', (data, rinfo) => this.received({ data, from: { address: rinfo.address, port: rinfo.port } }));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && this.peer) {
        this.report(new MqttSnError(ErrorCode.PORT_UNREACHABLE, `Nothing listens on ${formatEndpoint(this.peer)} (ICMP port unreachable).`));
      } else {
        this.report(socketError('UDP socket error', error));
      }
    });
    this.socket = socket;
  }

  protected transmit(data: Buffer, to: Endpoint): void {
    const socket = this.socket;
    if (!socket) return;
    this.sending++;
    const done = (error: Error | null): void => {
      if (error) this.report(socketError(`Cannot send to ${formatEndpoint(to)}`, error));
      if (--this.sending === 0) this.drained?.();
    };
    try {
      if (this.peer && sameEndpoint(this.peer, to)) {
        socket.send(data, done);
      } else {
        this.disconnectPeer(socket);
        socket.send(data, to.port, to.address, done);
      }
    } catch (error) {
      done(error as Error);
    }
  }

  protected async release(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.peer = undefined;
    if (!socket) return;
    if (this.sending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = undefined;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // closed already
      }
    });
  }

  private boundSocket(what: string): dgram.Socket {
    if (!this.bound || !this.socket) throw new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot ${what}: the udp transport is not bound.`);
    return this.socket;
  }
}

function attempt(change: () => void): void {
  try {
    change();
  } catch {
    // keep the system default
  }
}

/** Makes node:dgram transports: the default of the client and the gateway. */
export const udpTransport: TransportFactory = () => new UdpTransport();
