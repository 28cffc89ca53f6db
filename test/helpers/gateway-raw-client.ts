/**
 * A bare MQTT-SN peer for gateway tests: one UDP socket on 127.0.0.1 that
 * sends packets built by the codec and waits for the packets that come back.
 * No protocol logic of its own, so the tests decide every byte the gateway sees.
 */
import * as dgram from 'node:dgram';
import { decode, encode } from '../../lib/codec';
import type { Packet, PacketOf, PacketType } from '../../lib/codec/packets';

interface Waiter {
  match: (packet: Packet) => boolean;
  resolve: (packet: Packet) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class RawClient {
  /** Packets received and not yet taken by next(). */
  readonly inbox: Packet[] = [];
  private readonly socket: dgram.Socket;
  private waiters: Waiter[] = [];
  /** When set, every packet is wrapped as a forwarder would, with this wireless node id. */
  wirelessNodeId: Buffer | undefined;
  /** Whether a PINGREQ from the gateway is answered with PINGRESP, as a client does. */
  answerPings = true;
  /** Wireless node id of the last encapsulated packet received (undefined: it was not wrapped). */
  receivedNodeId: Buffer | undefined;

  private constructor(
    socket: dgram.Socket,
    private readonly gatewayPort: number,
    private readonly gatewayHost: string,
  ) {
    this.socket = socket;
    socket.on('message', (datagram) => this.onDatagram(datagram));
  }

  /** `localAddress`: another loopback address (127.0.0.x) to send from, as another host would. */
  static async open(gatewayPort: number, gatewayHost = '127.0.0.1', localPort = 0, localAddress?: string): Promise<RawClient> {
    const socket = dgram.createSocket(gatewayHost.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(localPort, localAddress ?? (gatewayHost.includes(':') ? '::1' : '127.0.0.1'), () => resolve());
    });
    return new RawClient(socket, gatewayPort, gatewayHost);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(packet: Packet): void {
    const wrapped: Packet = this.wirelessNodeId
      ? { type: 'ENCAPSULATED', radius: 0, wirelessNodeId: this.wirelessNodeId, packet }
      : packet;
    this.sendRaw(encode(wrapped));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes, this.gatewayPort, this.gatewayHost);
  }

  /** The next packet of `type` (earlier packets of other types stay in the inbox). */
  next<T extends PacketType>(type: T, timeoutMs = 2000, match?: (packet: PacketOf<T>) => boolean): Promise<PacketOf<T>> {
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
  async request<T extends PacketType>(packet: Packet, type: T, timeoutMs = 2000): Promise<PacketOf<T>> {
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

  clear(): void {
    this.inbox.length = 0;
  }

  close(): Promise<void> {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('client closed'));
    }
    this.waiters = [];
    return new Promise((resolve) => this.socket.close(() => resolve()));
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
