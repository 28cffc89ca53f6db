/**
 * Gateway discovery (MQTT-SN v1.2 §6.1), client side. Pure logic over
 * packets and time like the session:
 * - search(): SEARCHGW after a random 0..T_SEARCHGW delay, repeated with
 *   exponential back-off until a GWINFO arrives; an identical SEARCHGW heard
 *   from another client meanwhile counts as our own.
 * - ADVERTISE and GWINFO keep a table of active gateways; a gateway is dropped
 *   after N_ADV missed advertisements.
 * - Another client's SEARCHGW fires `discoverRequest`; when a listener sets
 *   respond, a GWINFO with the gateway's address goes out after a random
 *   0..T_GWINFO delay, cancelled if someone else answers first.
 */
import * as net from 'node:net';
import { ErrorCode, MqttSnError } from '../errors';
import type { Packet, PacketOf } from '../codec/packets';
import type { TimerQueue } from '../timers/types';
import type { ClientSettings } from './config';
import type { Endpoint } from './transport';
import { formatEndpoint } from './transport';
import type { GatewayInfoEvent, KnownGateway, LogType, MqttSnClientEvents } from './types';

export interface DiscoverySink {
  /** To the discovery (broadcast or multicast) address and port. */
  broadcast(packet: Packet): void;
  sendTo(packet: Packet, to: Endpoint): void;
  emit<K extends keyof MqttSnClientEvents>(event: K, ...args: MqttSnClientEvents[K]): void;
  log(level: number, type: LogType, message: string): void;
  /** The gateway this client is connected to (answers other clients' SEARCHGW). */
  currentGateway(): { gatewayId: number; endpoint: Endpoint } | undefined;
}

const SEARCH_TIMER = 1;
const GWINFO_TIMER = 2;
const FIRST_GATEWAY_TIMER = 16;

interface Search {
  radius: number;
  sent: number;
  deadline: number;
  resolve(info: GatewayInfoEvent): void;
  reject(error: MqttSnError): void;
}

interface TrackedGateway extends KnownGateway {
  timerId: number;
  /** ADVERTISE interval in seconds (0 when never advertised). */
  interval: number;
}

/** GwAdd for UDP: the 4 or 16 address octets followed by the 2-octet port. */
export function encodeGatewayAddress(endpoint: Endpoint): Buffer {
  const v4 = net.isIPv4(endpoint.address);
  const bytes = Buffer.alloc(v4 ? 6 : 18);
  if (v4) endpoint.address.split('.').forEach((part, i) => bytes.writeUInt8(Number(part), i));
  else expandIPv6(endpoint.address).forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  bytes.writeUInt16BE(endpoint.port, v4 ? 4 : 16);
  return bytes;
}

export function decodeGatewayAddress(bytes: Buffer): Endpoint | undefined {
  if (bytes.length === 6) {
    return { address: [...bytes.subarray(0, 4)].join('.'), port: bytes.readUInt16BE(4) };
  }
  if (bytes.length === 18) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return { address: groups.join(':'), port: bytes.readUInt16BE(16) };
  }
  return undefined;
}

function expandIPv6(address: string): number[] {
  const [head, tail = ''] = address.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = address.includes('::') ? parse(tail) : [];
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** host:port text (IPv6 in brackets) -> endpoint; undefined when malformed. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { address: match[1], port } : undefined;
}

export class Discovery {
  private readonly searches: Search[] = [];
  private readonly gatewaysByKey = new Map<string, TrackedGateway>();
  private nextGatewayTimer = FIRST_GATEWAY_TIMER;
  private pendingReply: { packet: Packet; to: Endpoint } | undefined;

  constructor(
    private readonly sink: DiscoverySink,
    private readonly settings: ClientSettings,
    private readonly timers: TimerQueue,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Active gateways, in the order they became known. */
  get gateways(): KnownGateway[] {
    return [...this.gatewaysByKey.values()].map(({ gatewayId, host, port, source }) => ({ gatewayId, host, port, source }));
  }

  nextDeadline(): number {
    return this.timers.nextDeadline();
  }

  get searching(): boolean {
    return this.searches.length > 0;
  }

  search(radius: number, timeoutSeconds: number, resolve: (info: GatewayInfoEvent) => void, reject: (e: MqttSnError) => void): void {
    const deadline = timeoutSeconds > 0 ? this.now() + timeoutSeconds * 1000 : Infinity;
    this.searches.push({ radius, sent: 0, deadline, resolve, reject });
    if (!this.timers.has(SEARCH_TIMER)) {
      this.timers.schedule(SEARCH_TIMER, this.now() + this.random() * this.settings.searchGwDelay * 1000);
    }
  }

  /** Adds a gateway learnt some other way (configuration, a connect). */
  remember(gatewayId: number, endpoint: Endpoint, source: KnownGateway['source']): void {
    this.track(gatewayId, endpoint, source, 0);
  }

  gatewayIdOf(endpoint: Endpoint): number | undefined {
    return this.gatewaysByKey.get(formatEndpoint(endpoint))?.gatewayId;
  }

  tick(): void {
    const now = this.now();
    for (const id of this.timers.expire(now)) {
      if (id === SEARCH_TIMER) this.onSearchTimer(now);
      else if (id === GWINFO_TIMER) this.onReplyTimer();
      else this.onGatewayExpired(id);
    }
  }

  /** ADVERTISE, SEARCHGW and GWINFO from anyone; returns false for other packets. */
  handle(packet: Packet, from: Endpoint): boolean {
    switch (packet.type) {
      case 'ADVERTISE':
        this.onAdvertise(packet, from);
        return true;
      case 'SEARCHGW':
        this.onSearchGw(packet, from);
        return true;
      case 'GWINFO':
        this.onGwInfo(packet, from);
        return true;
      default:
        return false;
    }
  }

  /** Answers a SEARCHGW now (sendDiscoverResponse): to the last requester, else to the discovery address. */
  respond(gatewayId: number, gateway: Endpoint, to: Endpoint | undefined): void {
    const packet: Packet = { type: 'GWINFO', gwId: gatewayId, gwAdd: encodeGatewayAddress(gateway) };
    if (to) this.sink.sendTo(packet, to);
    else this.sink.broadcast(packet);
  }

  /** Rejects every running search (the client is being reset or closed). */
  stop(reason: MqttSnError): void {
    const searches = this.searches.splice(0);
    this.timers.clear();
    this.pendingReply = undefined;
    for (const search of searches) search.reject(reason);
  }

  clear(): void {
    this.gatewaysByKey.clear();
  }

  private onSearchTimer(now: number): void {
    for (const search of this.searches.splice(0)) {
      if (now >= search.deadline) search.reject(new MqttSnError(ErrorCode.NO_GATEWAY, 'No gateway answered SEARCHGW.'));
      else this.searches.push(search);
    }
    if (this.searches.length === 0) return;
    const radius = Math.max(...this.searches.map((s) => s.radius));
    const sent = Math.min(...this.searches.map((s) => s.sent));
    try {
      this.sink.broadcast({ type: 'SEARCHGW', radius });
    } catch (err) {
      for (const search of this.searches.splice(0)) search.reject(err as MqttSnError);
      return;
    }
    for (const search of this.searches) search.sent++;
    // Exponential back-off from T_retry, capped by the earliest deadline.
    const backoff = this.settings.retryInterval * 1000 * 2 ** sent;
    const deadline = Math.min(...this.searches.map((s) => s.deadline));
    this.timers.schedule(SEARCH_TIMER, Math.min(now + backoff, deadline));
  }

  private onSearchGw(packet: PacketOf<'SEARCHGW'>, from: Endpoint): void {
    if (this.searches.length > 0 && this.searches.every((s) => s.sent === 0)) {
      // Someone asked the same question: wait for the answers with them.
      for (const search of this.searches) search.sent = 1;
      this.timers.schedule(SEARCH_TIMER, this.now() + this.settings.retryInterval * 1000);
    }
    const current = this.sink.currentGateway();
    const event = {
      radius: packet.radius,
      gatewayId: current?.gatewayId ?? 0,
      gatewayAddress: current ? formatEndpoint(current.endpoint) : '',
      respond: false,
    };
    this.sink.emit('discoverRequest', event);
    this.lastRequester = from;
    if (!event.respond) return;
    const gateway = parseEndpoint(event.gatewayAddress);
    if (!gateway) {
      this.sink.log(1, 'Info', `Cannot answer SEARCHGW: "${event.gatewayAddress}" is not host:port.`);
      return;
    }
    this.pendingReply = {
      packet: { type: 'GWINFO', gwId: event.gatewayId, gwAdd: encodeGatewayAddress(gateway) },
      to: from,
    };
    this.timers.schedule(GWINFO_TIMER, this.now() + this.random() * this.settings.gwInfoDelay * 1000);
  }

  /** Who sent the last SEARCHGW (sendDiscoverResponse answers them). */
  lastRequester: Endpoint | undefined;

  private onReplyTimer(): void {
    const reply = this.pendingReply;
    this.pendingReply = undefined;
    if (reply) this.sink.sendTo(reply.packet, reply.to);
  }

  private onGwInfo(packet: PacketOf<'GWINFO'>, from: Endpoint): void {
    if (this.pendingReply) {
      // Someone answered first: ours is not needed.
      this.pendingReply = undefined;
      this.timers.cancel(GWINFO_TIMER);
    }
    const endpoint = packet.gwAdd ? decodeGatewayAddress(packet.gwAdd) ?? from : from;
    this.track(packet.gwId, endpoint, 'GWINFO', 0);
    const info: GatewayInfoEvent = { messageType: 'GWINFO', gatewayId: packet.gwId, gatewayAddress: formatEndpoint(endpoint), interval: 0 };
    this.sink.emit('gatewayInfo', info);
    const searches = this.searches.splice(0);
    if (searches.length > 0) this.timers.cancel(SEARCH_TIMER);
    for (const search of searches) search.resolve(info);
  }

  private onAdvertise(packet: PacketOf<'ADVERTISE'>, from: Endpoint): void {
    const gateway = this.track(packet.gwId, from, 'ADVERTISE', packet.duration);
    // N_ADV missed advertisements and it is gone (half an interval of slack for late ones).
    if (packet.duration > 0) {
      this.timers.schedule(gateway.timerId, this.now() + packet.duration * 1000 * (this.settings.advertiseMissed + 0.5));
    }
    this.sink.emit('gatewayInfo', { messageType: 'ADVERTISE', gatewayId: packet.gwId, gatewayAddress: formatEndpoint(from), interval: packet.duration });
  }

  private track(gatewayId: number, endpoint: Endpoint, source: KnownGateway['source'], interval: number): TrackedGateway {
    const key = formatEndpoint(endpoint);
    const known = this.gatewaysByKey.get(key);
    if (known) {
      known.gatewayId = gatewayId;
      if (interval > 0) known.interval = interval;
      return known;
    }
    const tracked: TrackedGateway = { gatewayId, host: endpoint.address, port: endpoint.port, source, timerId: this.nextGatewayTimer++, interval };
    this.gatewaysByKey.set(key, tracked);
    return tracked;
  }

  private onGatewayExpired(timerId: number): void {
    for (const [key, gateway] of this.gatewaysByKey) {
      if (gateway.timerId !== timerId) continue;
      this.gatewaysByKey.delete(key);
      this.sink.log(1, 'Info', `Gateway ${gateway.gatewayId} at ${key} missed ${this.settings.advertiseMissed} advertisements: dropped.`);
    }
  }
}
