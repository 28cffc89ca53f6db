/**
 * A relay between MQTT-SN clients and a gateway that can drop, duplicate,
 * delay (and so reorder) or swallow chosen packets, and inject raw datagrams: the tool for
 * testing retransmission, duplicate detection, timeouts and a gateway that
 * goes silent. It runs on any transport (UDP by default, or the in-memory
 * network the clients and the gateway of a suite use).
 *
 * Clients send to relay.address(); each client gets its own upstream
 * transport, so the gateway sees one address per client.
 */
import { decode, encode } from '../../lib/codec';
import type { Packet } from '../../lib/codec/packets';
import type { Endpoint } from '../../lib/transport/endpoint';
import type { DatagramTransport, TransportFactory } from '../../lib/transport/types';
import { udpTransport } from '../../lib/transport/udp';

export type Direction = 'up' | 'down';
/** forward, drop, send twice, send this packet instead, forward it this much later, or send one copy after each delay. */
export type Verdict = 'forward' | 'drop' | 'duplicate' | { replace: Packet } | { delayMs: number } | { delays: number[] };

/** Decides the fate of one packet; `count` numbers the packets of that type and direction, from 1. */
export type RelayRule = (packet: Packet, direction: Direction, count: number) => Verdict;

export interface RelayedPacket {
  direction: Direction;
  packet: Packet;
  verdict: Verdict;
}

interface Upstream {
  transport: DatagramTransport;
  bound: Promise<void>;
  client: Endpoint;
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
    private readonly socket: DatagramTransport,
    private readonly target: Endpoint,
    private readonly factory: TransportFactory,
  ) {}

  static async start(target: Endpoint, rule?: RelayRule, factory: TransportFactory = udpTransport): Promise<LossyRelay> {
    const socket = factory();
    await socket.bind({ family: 4, address: '127.0.0.1', port: 0 });
    const relay = new LossyRelay(socket, target, factory);
    if (rule) relay.rule = rule;
    socket.onReceive((batch) => {
      for (const { data, from } of batch) void relay.fromClient(data, from);
    });
    return relay;
  }

  address(): Endpoint {
    return this.socket.localAddress() as Endpoint;
  }

  /** Packets of `type` that went `direction` (whatever their fate). */
  packets(type: Packet['type'], direction: Direction): Packet[] {
    return this.seen.filter((s) => s.direction === direction && s.packet.type === type).map((s) => s.packet);
  }

  /** Sends raw bytes to every client as if from the gateway. */
  injectToClients(datagram: Buffer): void {
    for (const upstream of this.upstreams.values()) this.socket.send(datagram, upstream.client);
  }

  async stop(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    const closing = [...this.upstreams.values()].map((u) => u.transport.close());
    this.upstreams.clear();
    closing.push(this.socket.close());
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

  private async fromClient(datagram: Buffer, client: Endpoint): Promise<void> {
    const key = `${client.address}|${client.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      const transport = this.factory();
      upstream = { transport, client, bound: transport.bind({ family: 4, address: '127.0.0.1', port: 0 }) };
      this.upstreams.set(key, upstream);
      transport.onReceive((batch) => {
        for (const { data } of batch) {
          const verdict = this.judge(data, 'down');
          this.apply(verdict, data, (bytes) => this.socket.send(bytes, client));
        }
      });
    }
    // Judged at once, so verdicts follow arrival order; sent once the upstream transport is bound.
    const verdict = this.judge(datagram, 'up');
    const { transport, bound } = upstream;
    await bound;
    this.apply(verdict, datagram, (bytes) => transport.send(bytes, this.target));
  }

  private apply(verdict: Verdict, datagram: Buffer, send: (bytes: Buffer) => void): void {
    if (verdict === 'drop') return;
    if (typeof verdict === 'object' && ('delayMs' in verdict || 'delays' in verdict)) {
      for (const ms of 'delays' in verdict ? verdict.delays : [verdict.delayMs]) {
        if (ms <= 0) {
          send(datagram);
          continue;
        }
        const timer = setTimeout(() => {
          this.delayed.delete(timer);
          send(datagram);
        }, ms);
        this.delayed.add(timer);
      }
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
