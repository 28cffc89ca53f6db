/**
 * A UDP relay between MQTT-SN clients and a gateway that can drop, duplicate,
 * delay or swallow chosen packets, and inject raw datagrams: the tool for
 * testing retransmission, duplicate detection, timeouts and a gateway that
 * goes silent.
 *
 * Clients send to relay.address(); each client gets its own upstream socket,
 * so the gateway sees one address per client.
 */
import * as dgram from 'node:dgram';
import { decode, encode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';

export type Direction = 'up' | 'down';
/** forward, drop, send twice, send this packet instead, or forward it this much later. */
export type Verdict = 'forward' | 'drop' | 'duplicate' | { replace: Packet } | { delayMs: number };

/** Decides the fate of one packet; `count` numbers the packets of that type and direction, from 1. */
export type RelayRule = (packet: Packet, direction: Direction, count: number) => Verdict;

export interface RelayedPacket {
  direction: Direction;
  packet: Packet;
  verdict: Verdict;
}

interface Upstream {
  socket: dgram.Socket;
  client: { address: string; port: number };
}

export class LossyRelay {
  /** Every packet seen, in order, with what happened to it. */
  readonly seen: RelayedPacket[] = [];
  rule: RelayRule = () => 'forward';
  private readonly counts = new Map<string, number>();
  private readonly upstreams = new Map<string, Upstream>();
  /** Delayed packets not yet sent: cleared on stop. */
  private readonly delayed = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly target: { address: string; port: number },
  ) {}

  static async start(target: { address: string; port: number }, rule?: RelayRule): Promise<LossyRelay> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const relay = new LossyRelay(socket, target);
    if (rule) relay.rule = rule;
    socket.on('message', (datagram, rinfo) => void relay.fromClient(datagram, { address: rinfo.address, port: rinfo.port }));
    return relay;
  }

  address(): { address: string; port: number } {
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** Packets of `type` that went `direction` (whatever their fate). */
  packets(type: Packet['type'], direction: Direction): Packet[] {
    return this.seen.filter((s) => s.direction === direction && s.packet.type === type).map((s) => s.packet);
  }

  /** Sends raw bytes to every client as if from the gateway. */
  injectToClients(datagram: Buffer): void {
    for (const upstream of this.upstreams.values()) {
      this.socket.send(datagram, upstream.client.port, upstream.client.address);
    }
  }

  async stop(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    const closing = [...this.upstreams.values()].map(
      (u) => new Promise<void>((resolve) => u.socket.close(() => resolve())),
    );
    this.upstreams.clear();
    closing.push(new Promise<void>((resolve) => this.socket.close(() => resolve())));
    await Promise.all(closing);
  }

  private judge(datagram: Buffer, direction: Direction): Verdict {
    let packet: Packet;
    try {
      packet = decode(datagram);
    } catch {
      return 'forward';
    }
    const key = `${direction}:${packet.type}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    const verdict = this.rule(packet, direction, count);
    this.seen.push({ direction, packet, verdict });
    return verdict;
  }

  private async fromClient(datagram: Buffer, client: { address: string; port: number }): Promise<void> {
    const key = `${client.address}|${client.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      const socket = dgram.createSocket('udp4');
      upstream = { socket, client };
      this.upstreams.set(key, upstream);
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      socket.on('message', (reply) => {
        const verdict = this.judge(reply, 'down');
        this.apply(verdict, reply, (bytes) => this.socket.send(bytes, client.port, client.address));
      });
    }
    const verdict = this.judge(datagram, 'up');
    const socket = upstream.socket;
    this.apply(verdict, datagram, (bytes) => socket.send(bytes, this.target.port, this.target.address));
  }

  private apply(verdict: Verdict, datagram: Buffer, send: (bytes: Buffer) => void): void {
    if (verdict === 'drop') return;
    if (typeof verdict === 'object' && 'delayMs' in verdict) {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        send(datagram);
      }, verdict.delayMs);
      this.delayed.add(timer);
      return;
    }
    if (typeof verdict === 'object') {
      send(encode(verdict.replace));
      return;
    }
    send(datagram);
    if (verdict === 'duplicate') send(datagram);
  }
}
