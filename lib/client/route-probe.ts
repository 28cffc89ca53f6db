/**
 * A probe of the gateway's port, beside the client's gateway socket: a UDP
 * transport (node:dgram or native) connected to the gateway sends an empty datagram (which an
 * MQTT-SN gateway drops as too short) beside each datagram the client sends
 * it, until the gateway first answers. A connected socket hears the ICMP port
 * unreachable that the unconnected gateway socket never does, so a CONNECT to
 * a closed port fails at once; and it knows the local address of the route
 * to the gateway, which localHost shows while connected (the gateway socket
 * is bound to every interface).
 */
import { ErrorCode, type MqttSnError } from '../errors';
import type { Endpoint, Family } from '../transport/endpoint';
import type { DatagramTransport, TransportFactory } from '../transport/types';

export class RouteProbe {
  private transport: DatagramTransport | undefined;
  private connected = false;
  private closed = false;
  /** The local address the route to the gateway uses, once known. */
  local: string | undefined;

  constructor(readonly gateway: Endpoint) {}

  /**
   * Runs the probe; `onUnreachable` hears a closed port. Only a UDP
   * transport probes (node:dgram or the native engine; a DTLS one would start
   * a handshake, others cannot connect): with any other the probe does nothing.
   */
  async start(factory: TransportFactory, family: Family, onUnreachable: (error: MqttSnError) => void): Promise<void> {
    const transport = factory();
    if ((transport.kind !== 'udp' && transport.kind !== 'native-udp') || !transport.connect) {
      void transport.close();
      return;
    }
    this.transport = transport;
    transport.onError((error) => {
      if (!this.closed && error.code === ErrorCode.PORT_UNREACHABLE) onUnreachable(error);
    });
    try {
      await transport.bind({ family });
      await transport.connect(this.gateway);
    } catch {
      // A probe that cannot run changes nothing: the CONNECT's retries decide.
      this.stop();
      return;
    }
    if (this.closed) return;
    this.local = transport.localAddress()?.address;
    this.connected = true;
  }

  /** The client sent the gateway a datagram: send the empty one beside it, so an ICMP answer finds the call it concerns. */
  ping(): void {
    if (this.connected && !this.closed) this.transport?.send(Buffer.alloc(0), this.gateway);
  }

  /** Closes the probe's socket; the route's address stays known. */
  stop(): void {
    this.closed = true;
    const transport = this.transport;
    this.transport = undefined;
    void transport?.close();
  }
}
