/**
 * An in-memory datagram network for tests and simulations: transports made by
 * one MemoryNetwork bind addresses and ports on it as on a loopback interface
 * and exchange datagrams without a socket. Knobs (loss, duplication,
 * reordering, delay) apply to every link, one direction or one pair of
 * endpoints, and draw from a seeded random source so that a run can be
 * repeated exactly. An interceptor may decide the fate of chosen datagrams.
 *
 * Addressing follows UDP on one host: a transport bound to '' (or 0.0.0.0 /
 * ::) receives what is sent to its port at any address of its family; one
 * bound to an address, only what is sent there. Multicast to a group that a
 * transport joined reaches every transport on the port, the sender included
 * (as Linux does with loopback on); IPv4 broadcast reaches every transport on the port and needs the
 * sender's `broadcast` option. A datagram to a port nobody holds is counted
 * as undeliverable and vanishes, as UDP does.
 */
import * as net from 'node:net';
import { ErrorCode, MqttSnError } from '../errors';
import { formatEndpoint, isMulticast, plainAddress, sameAddress, type Endpoint, type Family } from './endpoint';
import { QueuedTransport } from './queued';
import type { BindOptions, TransportFactory } from './types';

/** What happens on a link. Probabilities are 0..1; times in milliseconds. */
export interface LinkConditions {
  /** A datagram is lost. */
  loss?: number;
  /** A datagram arrives twice. */
  duplicate?: number;
  /** A datagram is held back until the next one on its link has arrived (or `holdMs` passed). */
  reorder?: number;
  /** How long a reordered datagram waits at most for the next one. Default 20. */
  holdMs?: number;
  /** Every datagram takes this long. */
  delayMs?: number;
  /** Plus up to this much more, drawn per datagram (so jitter reorders too). */
  jitterMs?: number;
}

/** Which datagrams a condition or interceptor applies to: those from `from` to `to` (either may be partial or absent). */
export interface LinkSelector {
  from?: Partial<Endpoint>;
  to?: Partial<Endpoint>;
  /** Also the other direction (to → from). */
  bothWays?: boolean;
}

/** One datagram on its way. */
export interface Transit {
  readonly data: Buffer;
  readonly from: Endpoint;
  readonly to: Endpoint;
}

/** forward, drop, send twice, or send these octets instead. */
export type Verdict = 'forward' | 'drop' | 'duplicate' | { replace: Buffer };
export type Interceptor = (transit: Transit) => Verdict;

export interface NetworkStats {
  /** Datagrams handed to the network. */
  sent: number;
  /** Datagrams handed to a receiving transport (one per receiver). */
  delivered: number;
  /** Lost by the `loss` knob or dropped by an interceptor. */
  lost: number;
  /** Extra copies made by the `duplicate` knob or an interceptor. */
  duplicated: number;
  /** Held back by the `reorder` knob. */
  reordered: number;
  /** Arrived where no transport was bound. */
  undeliverable: number;
}

export interface MemoryNetworkOptions {
  /** Seed of the random source the knobs draw from. Default 1. */
  seed?: number;
  /** Conditions on every link. */
  conditions?: LinkConditions;
}

interface Rule<T> {
  selector: LinkSelector | undefined;
  value: T;
}

interface Delivery {
  data: Buffer;
  from: Endpoint;
  to: Endpoint;
  link: string;
}

const FIRST_EPHEMERAL_PORT = 49152;
/** The largest UDP payload over IPv4 and IPv6 (65535 less the headers). */
const MAX_PAYLOAD: Record<Family, number> = { 4: 65507, 6: 65527 };
const DEFAULT_HOLD_MS = 20;

/** mulberry32: small, fast and good enough to draw knob outcomes reproducibly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function wildcard(address: string): boolean {
  return address === '' || address === '0.0.0.0' || address === '::';
}

function familyOf(address: string): Family | undefined {
  const kind = net.isIP(address.split('%')[0]);
  return kind === 4 || kind === 6 ? kind : undefined;
}

function isBroadcast(address: string): boolean {
  return net.isIPv4(address) && address.endsWith('.255');
}

function matchesEnd(end: Partial<Endpoint> | undefined, endpoint: Endpoint): boolean {
  if (!end) return true;
  if (end.port !== undefined && end.port !== endpoint.port) return false;
  return end.address === undefined || sameAddress(end.address, endpoint.address);
}

function matches(selector: LinkSelector | undefined, from: Endpoint, to: Endpoint): boolean {
  if (!selector) return true;
  if (matchesEnd(selector.from, from) && matchesEnd(selector.to, to)) return true;
  return selector.bothWays === true && matchesEnd(selector.from, to) && matchesEnd(selector.to, from);
}

export class MemoryNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, undeliverable: 0 };
  /** Makes transports on this network: pass it where a TransportFactory is asked for. */
  readonly factory: TransportFactory = () => this.transport();
  private readonly random: () => number;
  private readonly conditions: Rule<LinkConditions>[] = [];
  private readonly interceptors: Rule<Interceptor>[] = [];
  private readonly members = new Set<MemoryTransport>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held = new Map<string, { delivery: Delivery; timer: NodeJS.Timeout }>();
  private nextPort = FIRST_EPHEMERAL_PORT;
  private settledWaiters: Array<() => void> = [];

  constructor(options: MemoryNetworkOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    if (options.conditions) this.condition(options.conditions);
  }

  /** A new, unbound transport on this network. */
  transport(): MemoryTransport {
    return new MemoryTransport(this);
  }

  /**
   * Sets conditions for the datagrams `link` selects (every datagram when absent). The latest
   * matching rule wins, knob by knob. Returns a function that removes the rule again.
   */
  condition(conditions: LinkConditions, link?: LinkSelector): () => void {
    return this.add(this.conditions, { selector: link, value: conditions });
  }

  /** Lets `interceptor` decide the fate of the datagrams `link` selects (before the knobs). Returns a remover. */
  intercept(interceptor: Interceptor, link?: LinkSelector): () => void {
    return this.add(this.interceptors, { selector: link, value: interceptor });
  }

  /** Datagrams delayed or held back and not yet arrived. */
  get inFlight(): number {
    return this.timers.size;
  }

  /** Resolves once no datagram is delayed or held back. */
  settled(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Drops every datagram still on its way and every rule; the transports stay bound. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held.clear();
    this.conditions.length = 0;
    this.interceptors.length = 0;
    this.wakeSettled();
  }

  // ---------------------------------------------------------------- for MemoryTransport

  /** @internal Claims a port; throws when another transport holds it (unless both share it). */
  attach(transport: MemoryTransport, family: Family, address: string, port: number, reuse: boolean): number {
    if (port === 0) port = this.freePort(family);
    for (const other of this.members) {
      if (other.family !== family || other.port !== port) continue;
      const overlap = wildcard(address) || wildcard(other.address) || sameAddress(address, other.address);
      if (overlap && !(reuse && other.reuse)) {
        throw new MqttSnError(ErrorCode.SOCKET_ERROR, `Address in use (EADDRINUSE): ${formatEndpoint({ address: address || '*', port })}`);
      }
    }
    this.members.add(transport);
    return port;
  }

  /** @internal */
  detach(transport: MemoryTransport): void {
    this.members.delete(transport);
  }

  /** @internal One datagram from `from` to `to`. */
  route(data: Buffer, from: Endpoint, to: Endpoint): void {
    this.stats.sent++;
    let copies = 1;
    let octets = data;
    for (let i = this.interceptors.length - 1; i >= 0; i--) {
      const rule = this.interceptors[i];
      if (!matches(rule.selector, from, to)) continue;
      const verdict = rule.value({ data, from, to });
      if (verdict === 'drop') {
        this.stats.lost++;
        return;
      }
      if (verdict === 'duplicate') copies = 2;
      else if (typeof verdict === 'object') octets = verdict.replace;
      break;
    }
    const knobs = this.knobsFor(from, to);
    if (knobs.loss && this.random() < knobs.loss) {
      this.stats.lost++;
      return;
    }
    if (knobs.duplicate && this.random() < knobs.duplicate) copies = 2;
    if (copies > 1) this.stats.duplicated++;
    const link = `${formatEndpoint(from)}>${formatEndpoint(to)}`;
    for (let copy = 0; copy < copies; copy++) {
      // Each copy its own buffer: a receiver may keep or change what it got.
      const delivery: Delivery = { data: Buffer.from(octets), from: { ...from }, to: { ...to }, link };
      const delay = (knobs.delayMs ?? 0) + (knobs.jitterMs ? this.random() * knobs.jitterMs : 0);
      if (knobs.reorder && !this.held.has(link) && this.random() < knobs.reorder) {
        this.hold(delivery, knobs.holdMs ?? DEFAULT_HOLD_MS);
      } else if (delay > 0) {
        this.later(delay, () => this.arrive(delivery));
      } else {
        this.arrive(delivery);
      }
    }
  }

  // ---------------------------------------------------------------- inside

  private add<T>(rules: Rule<T>[], rule: Rule<T>): () => void {
    rules.push(rule);
    return () => {
      const at = rules.indexOf(rule);
      if (at >= 0) rules.splice(at, 1);
    };
  }

  private knobsFor(from: Endpoint, to: Endpoint): LinkConditions {
    const knobs: LinkConditions = {};
    for (const rule of this.conditions) if (matches(rule.selector, from, to)) Object.assign(knobs, rule.value);
    return knobs;
  }

  private freePort(family: Family): number {
    for (let tries = 0; tries < 16384; tries++) {
      const port = this.nextPort;
      this.nextPort = port >= 65535 ? FIRST_EPHEMERAL_PORT : port + 1;
      if (![...this.members].some((m) => m.family === family && m.port === port)) return port;
    }
    throw new MqttSnError(ErrorCode.SOCKET_ERROR, 'No free port left on the memory network.');
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
      if (this.timers.size === 0) this.wakeSettled();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private hold(delivery: Delivery, holdMs: number): void {
    this.stats.reordered++;
    const timer = this.later(holdMs, () => {
      this.held.delete(delivery.link);
      this.arrive(delivery);
    });
    this.held.set(delivery.link, { delivery, timer });
  }

  private arrive(delivery: Delivery): void {
    const receivers = this.receiversOf(delivery.to);
    if (receivers.length === 0) this.stats.undeliverable++;
    for (const receiver of receivers) {
      this.stats.delivered++;
      receiver.arrive(delivery.data, delivery.from);
    }
    // A datagram held back on this link goes right after the one that overtook it.
    const held = this.held.get(delivery.link);
    if (held && held.delivery !== delivery) {
      this.held.delete(delivery.link);
      clearTimeout(held.timer);
      this.timers.delete(held.timer);
      this.arrive(held.delivery);
      if (this.timers.size === 0) this.wakeSettled();
    }
  }

  private receiversOf(to: Endpoint): MemoryTransport[] {
    const family = familyOf(to.address);
    const onPort = [...this.members].filter((m) => m.family === family && m.port === to.port);
    if (isMulticast(to.address)) {
      // As on Linux (IP_MULTICAST_ALL): once the host is in the group, every socket on the port hears it.
      if (![...this.members].some((m) => m.joined(to.address))) return [];
      return onPort.filter((m) => wildcard(m.address) || sameAddress(m.address, to.address));
    }
    if (isBroadcast(to.address)) return onPort.filter((m) => wildcard(m.address) || sameAddress(m.address, to.address));
    // Unicast: one receiver, the most specific binding, the latest of equals (as Linux does with SO_REUSEADDR).
    const exact = onPort.filter((m) => sameAddress(m.address, to.address));
    const chosen = exact.length > 0 ? exact : onPort.filter((m) => wildcard(m.address));
    return chosen.length > 0 ? [chosen[chosen.length - 1]] : [];
  }

  private wakeSettled(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** A transport on a MemoryNetwork. It holds no socket, so it never keeps the process alive (ref/unref change nothing). */
export class MemoryTransport extends QueuedTransport {
  readonly kind = 'memory';
  /** @internal */ family: Family = 4;
  /** @internal */ address = '';
  /** @internal */ port = 0;
  /** @internal */ reuse = false;
  private broadcast = false;
  private multicastInterface: string | undefined;
  private readonly groups = new Set<string>();

  constructor(private readonly network: MemoryNetwork) {
    super();
  }

  localAddress(): Endpoint | undefined {
    if (!this.bound) return undefined;
    const address = wildcard(this.address) ? (this.family === 6 ? '::' : '0.0.0.0') : this.address;
    return { address, port: this.port };
  }

  addMembership(group: string, iface?: string): void {
    this.mustBeBound('join a multicast group');
    if (!isMulticast(group) || familyOf(group) !== this.family) {
      throw new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot join multicast group ${group}${iface ? ` on ${iface}` : ''}: not a multicast address of this family.`);
    }
    this.groups.add(plainAddress(group));
  }

  setMulticastInterface(iface: string): void {
    this.mustBeBound('choose a multicast interface');
    if (familyOf(iface) !== this.family) throw new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot send multicast through ${iface}: not an address of this family.`);
    this.multicastInterface = iface;
  }

  ref(): void {
    // Nothing to hold the process open with.
  }

  unref(): void {
    // As ref().
  }

  /** @internal Whether this transport joined `group`. */
  joined(group: string): boolean {
    return this.groups.has(plainAddress(group));
  }

  /** @internal A datagram arrived from the network. */
  arrive(data: Buffer, from: Endpoint): void {
    this.received({ data, from });
  }

  protected async open(options: BindOptions): Promise<void> {
    if (options.reusePort) throw new MqttSnError(ErrorCode.SOCKET_ERROR, 'The memory transport does not share a port over processes (reusePort).');
    const address = options.address ?? '';
    if (!wildcard(address) && familyOf(address) !== options.family) {
      throw new MqttSnError(ErrorCode.SOCKET_ERROR, `${address} is not an IPv${options.family} address.`);
    }
    this.family = options.family;
    this.address = wildcard(address) ? '' : address;
    this.reuse = options.reuseAddress === true;
    this.broadcast = options.broadcast === true;
    this.port = this.network.attach(this, this.family, this.address, options.port ?? 0, this.reuse);
  }

  protected transmit(data: Buffer, to: Endpoint): void {
    if (familyOf(to.address) !== this.family) {
      this.report(new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot send to ${formatEndpoint(to)}: not an IPv${this.family} address.`));
      return;
    }
    if (data.length > MAX_PAYLOAD[this.family]) {
      this.report(new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot send to ${formatEndpoint(to)}: ${data.length} octets do not fit in a datagram.`));
      return;
    }
    if (isBroadcast(to.address) && !this.broadcast) {
      this.report(new MqttSnError(ErrorCode.SOCKET_ERROR, `Cannot send to ${formatEndpoint(to)}: broadcast is not enabled.`));
      return;
    }
    this.network.route(data, this.source(to), to);
  }

  protected async release(): Promise<void> {
    this.network.detach(this);
    this.groups.clear();
  }

  /** The address a datagram to `to` leaves from: the bound one, else the multicast interface or loopback. */
  private source(to: Endpoint): Endpoint {
    let address = this.address;
    if (wildcard(address)) address = (isMulticast(to.address) && this.multicastInterface) || (this.family === 6 ? '::1' : '127.0.0.1');
    return { address, port: this.port };
  }

  private mustBeBound(what: string): void {
    if (!this.bound) throw new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot ${what}: the memory transport is not bound.`);
  }
}
