/**
 * The client's sockets on the transport seam: one transport for gateway
 * traffic (IPv4 or IPv6, picked from the addresses involved, broadcast
 * allowed so 255.255.255.255 works), and an optional second one bound to the
 * discovery port (shared with other listeners, joined to the group when the
 * discovery address is multicast). Both come from the client's
 * TransportFactory: UDP by default, the in-memory network in tests.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { ErrorCode, MqttSnError } from '../errors';
import { isIP } from 'node:net';
import { DtlsTransport, type DtlsTransportOptions } from '../transport/dtls';
import { isMulticast, plainAddress, sameEndpoint, type Endpoint, type Family } from '../transport/endpoint';
import { RouteProbe } from './route-probe';
import type { DatagramTransport, ReceivedDatagram, TransportFactory } from '../transport/types';

export { formatEndpoint, isMulticast, resolveHost, type Endpoint, type Family } from '../transport/endpoint';

export type DatagramListener = (datagram: ReceivedDatagram) => void;

export class ClientSockets {
  private gateway: DatagramTransport | undefined;
  private family: Family | undefined;
  /** The DTLS layer over the gateway transport, when the client speaks DTLS. */
  private secured: DtlsTransport | undefined;
  private discovery: DatagramTransport | undefined;
  private discoveryOpening = false;
  /** The probe of the current gateway's port, and the route it found. */
  private route: RouteProbe | undefined;

  constructor(
    private readonly factory: TransportFactory,
    private readonly onDatagram: DatagramListener,
    private readonly onError: (error: MqttSnError) => void,
  ) {}

  get active(): boolean {
    return this.gateway !== undefined;
  }

  /** The bound local address and port while active; bound to every interface, the address of the route to the gateway. */
  localAddress(): Endpoint | undefined {
    const bound = this.gateway?.localAddress();
    if (!bound || !this.route?.local || (bound.address !== '0.0.0.0' && bound.address !== '::')) return bound;
    return { address: this.route.local, port: bound.port };
  }

  /** True for a datagram from this client's own gateway socket: a broadcast or multicast it sent, looped back. */
  sentByUs(from: Endpoint): boolean {
    const local = this.localAddress();
    if (!local || local.port !== from.port) return false;
    if (local.address !== '0.0.0.0' && local.address !== '::') return plainAddress(local.address) === plainAddress(from.address);
    return Object.values(os.networkInterfaces()).some((list) =>
      (list ?? []).some((entry) => plainAddress(entry.address) === plainAddress(from.address)),
    );
  }

  /**
   * Opens the gateway transport for `family` (reopens it when the family or
   * the DTLS settings change); with `dtls`, DTLS runs over it.
   */
  async open(family: Family, localHost: string, localPort: number, dtls?: () => DtlsTransportOptions): Promise<void> {
    if (this.gateway && this.family === family && (this.secured !== undefined) === (dtls !== undefined)) return;
    this.closeGatewaySocket();
    const options = dtls?.();
    const transport = await this.bound({ family, address: localHost, port: localPort, broadcast: family === 4 }, options);
    this.gateway = transport;
    this.secured = options ? (transport as DtlsTransport) : undefined;
    this.family = family;
  }

  /**
   * With DTLS: a fresh handshake with the gateway (the session resumed when it
   * can be), so every CONNECT starts on an association the gateway knows.
   * Rejects with the handshake's coded error (270-284).
   */
  async secure(gateway: Endpoint, host: string): Promise<void> {
    const dtls = this.secured;
    if (!dtls) return;
    dtls.disconnect(gateway);
    await dtls.connect(gateway, isIP(host) ? undefined : host);
  }

  /**
   * Probes the gateway's port (RouteProbe): a closed port comes through
   * onError as PORT_UNREACHABLE, and localAddress() shows the route's
   * interface address instead of the wildcard the gateway socket is bound to.
   */
  async probe(gateway: Endpoint): Promise<void> {
    if (this.route && sameEndpoint(this.route.gateway, gateway)) return;
    this.stopProbe();
    this.route = undefined;
    // A broadcast or multicast "gateway" (QoS -1 to everyone) has no port to probe; a
    // DTLS gateway answers its handshake first (a stray datagram is no business of its port).
    if (!this.family || this.secured || isMulticast(gateway.address) || gateway.address === '255.255.255.255') return;
    const probe = new RouteProbe(gateway);
    this.route = probe;
    await probe.start(this.factory, this.family, (error) => this.onError(error));
  }

  /** The gateway answered: its port is open, the probe's socket can go. */
  private heardFrom(from: Endpoint): void {
    if (this.route && sameEndpoint(this.route.gateway, from)) this.route.stop();
  }

  private stopProbe(): void {
    this.route?.stop();
  }

  send(datagram: Buffer, to: Endpoint): void {
    // Without a gateway socket, a listener that answers discovery sends from the discovery port.
    const transport = this.gateway ?? this.discovery;
    if (!transport) throw new MqttSnError(ErrorCode.UDP_NOT_ACTIVE);
    transport.send(datagram, to);
    if (this.route && sameEndpoint(this.route.gateway, to)) this.route.ping();
  }

  /** Binds the shared discovery port (and joins the group when `address` is multicast). */
  async listenDiscovery(address: string, port: number, localHost: string): Promise<void> {
    if (this.discovery || this.discoveryOpening) return;
    const family: Family = net.isIPv6(address) ? 6 : 4;
    this.discoveryOpening = true;
    try {
      const transport = await this.bound({ family, port, reuseAddress: true, broadcast: family === 4 });
      try {
        if (isMulticast(address)) {
          transport.addMembership(address, localHost === '' ? undefined : localHost);
          if (localHost !== '') transport.setMulticastInterface(localHost);
        }
      } catch (err) {
        void transport.close();
        throw new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot listen for discovery on port ${port}: ${(err as MqttSnError).description}`);
      }
      this.discovery = transport;
    } finally {
      this.discoveryOpening = false;
    }
  }

  /** Multicast sends leave through localHost's interface when one is set. */
  setMulticastInterface(localHost: string): void {
    if (!this.gateway || localHost === '') return;
    try {
      this.gateway.setMulticastInterface(localHost);
    } catch {
      // Not a usable interface address: the system default stays.
    }
  }

  /** Whether the gateway socket keeps the process alive (a connectionless sender should not). */
  hold(keepAlive: boolean): void {
    if (keepAlive) this.gateway?.ref();
    else this.gateway?.unref();
  }

  get listening(): boolean {
    return this.discovery !== undefined || this.discoveryOpening;
  }

  closeDiscoverySocket(): void {
    const discovery = this.discovery;
    this.discovery = undefined;
    void discovery?.close();
  }

  closeGatewaySocket(): void {
    const gateway = this.gateway;
    this.gateway = undefined;
    this.secured = undefined;
    this.family = undefined;
    this.stopProbe();
    this.route = undefined;
    void gateway?.close();
  }

  close(): void {
    this.closeGatewaySocket();
    this.closeDiscoverySocket();
  }

  private async bound(options: Parameters<DatagramTransport['bind']>[0], dtls?: DtlsTransportOptions): Promise<DatagramTransport> {
    const transport = dtls ? new DtlsTransport(this.factory(), dtls) : this.factory();
    transport.onReceive((batch) => {
      for (const datagram of batch) {
        this.heardFrom(datagram.from);
        this.onDatagram(datagram);
      }
    });
    transport.onError((error) => this.onError(error));
    try {
      await transport.bind(options);
    } catch (err) {
      void transport.close();
      throw err instanceof MqttSnError ? err : new MqttSnError(ErrorCode.SOCKET_ERROR, String(err));
    }
    return transport;
  }
}
