/**
 * A bare MQTT-SN peer for gateway tests: one transport (UDP by default, or a
 * memory network's) bound on loopback that sends packets built by the codec
 * and waits for the packets that come back. No protocol logic of its own, so
 * the tests decide every byte the gateway sees.
 */
import { decode, encode } from '../../lib/codec';
import type { Packet, PacketOf, PacketType } from '../../lib/codec/packets';
import type { DatagramTransport, TransportFactory } from '../../lib/transport/types';
import { udpTransport } from '../../lib/transport/udp';

interface Waiter {
  match: (packet: Packet) => boolean;
  resolve: (packet: Packet) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class RawClient {
  /** Packets received and not yet taken by next(). */
  readonly inbox: Packet[] = [];
  private readonly transport: DatagramTransport;
  private waiters: Waiter[] = [];
  /** When set, every packet is wrapped as a forwarder would, with this wireless node id. */
  wirelessNodeId: Buffer | undefined;
  /** Whether a PINGREQ from the gateway is answered with PINGRESP, as a client does. */
  answerPings = true;
  /** Wireless node id of the last encapsulated packet received (undefined: it was not wrapped). */
  receivedNodeId: Buffer | undefined;
  /** Octets of every datagram received, whole. */
  octetsReceived = 0;
  /** Whether the gateway holds a session for this client (connected or asleep), as far as its packets tell. */
  private session = false;
  /** The last DISCONNECT sent asked for sleep: the DISCONNECT answering it leaves the session alive. */
  private sleeping = false;

  private constructor(
    transport: DatagramTransport,
    private readonly gatewayPort: number,
    private readonly gatewayHost: string,
  ) {
    this.transport = transport;
    transport.onReceive((batch) => {
      for (const datagram of batch) {
        this.octetsReceived += datagram.data.length;
        this.onDatagram(datagram.data);
      }
    });
  }

  /**
   * `localAddress`: another loopback address (127.0.0.x) to send from, as another host would;
   * `transport`: what to send with (UDP by default, or a memory network's factory).
   */
  static async open(
    gatewayPort: number,
    gatewayHost = '127.0.0.1',
    localPort = 0,
    { localAddress, transport = udpTransport }: { localAddress?: string; transport?: TransportFactory } = {},
  ): Promise<RawClient> {
    const v6 = gatewayHost.includes(':');
    const bound = transport();
    await bound.bind({ family: v6 ? 6 : 4, address: localAddress ?? (v6 ? '::1' : '127.0.0.1'), port: localPort });
    return new RawClient(bound, gatewayPort, gatewayHost);
  }

  get port(): number {
    return this.transport.localAddress()?.port ?? 0;
  }

  send(packet: Packet): void {
    if (packet.type === 'DISCONNECT' || packet.type === 'CONNECT') this.sleeping = packet.type === 'DISCONNECT' && packet.duration !== undefined;
    const wrapped: Packet = this.wirelessNodeId
      ? { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: this.wirelessNodeId, packet }
      : packet;
    this.sendRaw(encode(wrapped));
  }

  sendRaw(bytes: Uint8Array): void {
    this.transport.send(Buffer.from(bytes), { address: this.gatewayHost, port: this.gatewayPort });
  }

  /** The next packet of `type` (earlier packets of other types stay in the inbox). */
  next<T extends PacketType>(type: T, timeoutMs = 8000, match?: (packet: PacketOf<T>) => boolean): Promise<PacketOf<T>> {
    const test = (p: Packet): boolean => p.type === type && (!match || match(p as PacketOf<T>));
    const index = this.inbox.findIndex(test);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as PacketOf<T>);
    return new Promise<PacketOf<T>>((resolve, reject) => {
      const waiter: Waiter = {
        match: test,
        resolve: (p) => resolve(p as PacketOf<T>),
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          const seen = this.inbox.map((p) => p.type).join(', ') || 'nothing';
          reject(new Error(`no ${type} within ${timeoutMs} ms (inbox: ${seen})`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true when no packet of `type` arrives within `ms`. */
  async silent(type: PacketType, ms: number): Promise<boolean> {
    try {
      await this.next(type, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Sends `packet` and waits for the answer of `type`. */
  async request<T extends PacketType>(packet: Packet, type: T, timeoutMs = 8000): Promise<PacketOf<T>> {
    const answer = this.next(type, timeoutMs);
    this.send(packet);
    return answer;
  }

  /** CONNECT without will, expecting CONNACK accepted. */
  async connect(clientId: string, duration = 60, cleanSession = true): Promise<PacketOf<'CONNACK'>> {
    return this.request({ type: 'CONNECT', will: false, cleanSession, duration, clientId }, 'CONNACK', 5000);
  }

  /** REGISTER a topic name; returns the topic id. */
  async register(topicName: string, msgId = 1): Promise<number> {
    const ack = await this.request({ type: 'REGISTER', topicId: 0, msgId, topicName }, 'REGACK');
    if (ack.returnCode !== 0) throw new Error(`REGISTER ${topicName} refused: ${ack.returnCode}`);
    return ack.topicId;
  }

  /**
   * Ends the client's session at the gateway, if it has one: the system may give this port to
   * a later client, which must not find a session there.
   */
  leave(): void {
    if (this.session) this.send({ type: 'DISCONNECT' });
    this.session = false;
  }

  /** Ends the sessions of `clients` and closes them. */
  static async closeAll(clients: readonly RawClient[]): Promise<void> {
    for (const client of clients) client.leave();
    await Promise.all(clients.map((client) => client.close()));
  }

  clear(): void {
    this.inbox.length = 0;
  }

  close(): Promise<void> {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('client closed'));
    }
    this.waiters = [];
    return this.transport.close();
  }

  private onDatagram(datagram: Buffer): void {
    let packet = decode(datagram);
    this.receivedNodeId = undefined;
    if (packet.type === 'ENCAPSULATED') {
      this.receivedNodeId = packet.wirelessNodeId;
      packet = packet.packet;
    }
    // Like any client: the gateway asks with PINGREQ whether this address receives (before it sends more than it got).
    if (packet.type === 'PINGREQ' && this.answerPings) this.send({ type: 'PINGRESP' });
    if (packet.type === 'CONNACK' && packet.returnCode === 0) this.session = true;
    if (packet.type === 'DISCONNECT' && !this.sleeping) this.session = false;
    const waiter = this.waiters.find((w) => w.match(packet));
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(packet);
      return;
    }
    this.inbox.push(packet);
  }
}
