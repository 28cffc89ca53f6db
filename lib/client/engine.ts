/**
 * The session machinery every client shape shares: the sockets, the one real
 * timer, the ClientSession and Discovery state machines, the gateway the
 * session talks to and the datagrams in between. `MQTTSN` (the
 * reference-shaped class) and `MqttSnClient` (the managed connection) are
 * thin layers over one ClientEngine each; they differ only in their
 * settings, their argument checks and what they do when a gateway is lost.
 */
import { decode, encode } from '../codec';
import type { Packet } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { createTimerQueue } from '../timers';
import { sameEndpoint } from '../transport/endpoint';
import type { ReceivedDatagram, TransportFactory } from '../transport/types';
import { measuredDefaultTransport } from '../transport/default';
import { parseGatewayList, type ClientSettings } from './config';
import { Discovery } from './discovery';
import { ClientSession } from './client-session';
import { dtlsClientOptions } from './dtls-settings';
import { ClientSockets, formatEndpoint, resolveHost, type Endpoint, type Family } from './transport';
import type { GatewayInfoEvent, LogType, MqttSnClientEvents } from './types';

/** What the engine needs from the client shape above it. */
export interface EngineHost {
  emit<K extends keyof MqttSnClientEvents>(event: K, ...args: MqttSnClientEvents[K]): void;
  log(level: number, type: LogType, message: string): void;
  /** The gateway stopped answering or closed the session: true keeps the outstanding calls for a reconnect. */
  gatewayLost(reason: MqttSnError): boolean;
  /** True while the layer above needs the socket although no session exists (a reconnect under way). */
  holdsSocket(): boolean;
  /** Where to bind: '' and 0 for any. */
  local(): { host: string; port: number };
  /** Seconds a call waits for its acknowledgement (0: only the retry limit). */
  timeoutSeconds(): number;
}

export interface EngineOptions {
  /** Monotonic milliseconds; tests may pass a fake clock. */
  clock?: () => number;
  /** Random numbers in [0, 1) for the discovery delays (and the managed client's reconnect jitter). */
  random?: () => number;
  /** Makes the datagram transports (default: lib/transport/default.ts, the native engine where the addon has it; the in-memory network in tests). */
  transport?: TransportFactory;
}

export interface GatewayTarget {
  host: string;
  port: number;
}

function monotonicMs(): number {
  return performance.now();
}

export class ClientEngine {
  readonly clock: () => number;
  readonly transport: ClientSockets;
  readonly session: ClientSession;
  readonly discovery: Discovery;
  /** The gateway the session talks to. */
  gateway: Endpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private opening: Promise<void> | undefined;
  private preparations = 0;

  constructor(
    private readonly host: EngineHost,
    readonly settings: ClientSettings,
    options: EngineOptions = {},
  ) {
    this.clock = options.clock ?? monotonicMs;
    this.transport = new ClientSockets(
      options.transport ?? measuredDefaultTransport(),
      (datagram) => this.onDatagram(datagram),
      (error) => this.reportError(error),
    );
    this.session = new ClientSession(
      {
        send: (packet) => this.sendToGateway(packet),
        emit: (event, ...args) => host.emit(event, ...args),
        log: (level, type, message) => host.log(level, type, message),
        gatewayLost: (reason) => host.gatewayLost(reason),
      },
      settings,
      createTimerQueue(),
      this.clock,
      () => host.timeoutSeconds(),
    );
    this.discovery = new Discovery(
      {
        broadcast: (packet) => this.send(packet, { address: settings.discoveryAddress, port: settings.discoveryPort }),
        sendTo: (packet, to) => this.send(packet, to),
        emit: (event, ...args) => host.emit(event, ...args),
        log: (level, type, message) => host.log(level, type, message),
        currentGateway: () =>
          this.gateway && this.session.connected
            ? { gatewayId: this.discovery.gatewayIdOf(this.gateway) ?? 0, endpoint: this.gateway }
            : undefined,
      },
      settings,
      createTimerQueue(),
      this.clock,
      options.random,
    );
  }

  /** Configured gateways, then discovered ones, without repeats. */
  candidates(): GatewayTarget[] {
    const seen = new Set<string>();
    const list: GatewayTarget[] = [];
    const add = (host: string, port: number): void => {
      const key = `${host}|${port}`;
      if (seen.has(key)) return;
      seen.add(key);
      list.push({ host, port });
    };
    for (const gw of parseGatewayList(this.settings.gateways)) add(gw.host, gw.port);
    for (const gw of this.discovery.gateways) add(gw.host, gw.port);
    return list;
  }

  /** Resolves a gateway, opens the socket for its family and makes it the destination. */
  async useGateway(target: GatewayTarget): Promise<Endpoint> {
    const resolved = await resolveHost(target.host, this.host.local().host.includes(':') ? 6 : undefined);
    await this.openSocket(resolved.family);
    const gateway = { address: resolved.address, port: target.port };
    this.gateway = gateway;
    // A closed port fails the CONNECT at once; localHost shows the route's interface.
    await this.transport.probe(gateway);
    await this.transport.secure(gateway, this.settings.dtls.serverName || target.host);
    if (this.discovery.gatewayIdOf(gateway) === undefined) this.discovery.remember(0, gateway, 'connect');
    return gateway;
  }

  /** Whether `target` (as configured) is the gateway the session talks to. */
  isCurrent(target: GatewayTarget): boolean {
    return this.gateway !== undefined && sameEndpoint(this.gateway, { address: target.host, port: target.port });
  }

  /** Broadcasts SEARCHGW (radius 0..255) and resolves with the first gateway that answers. */
  search(radius: number): Promise<GatewayInfoEvent> {
    return this.preparing(async () => {
      await this.openSocket(this.settings.discoveryAddress.includes(':') ? 6 : 4);
      return this.run<GatewayInfoEvent>((resolve, reject) => this.discovery.search(radius, this.host.timeoutSeconds(), resolve, reject));
    });
  }

  /**
   * Tries `order` in turn: points the session at each gateway and runs
   * `start` (a connect, or a reconnect that restores the session) there.
   * Resolves with the gateway that took it, or rejects with the last failure.
   */
  async tryGateways(
    order: GatewayTarget[],
    start: (resolve: () => void, reject: (error: MqttSnError) => void) => void,
    stillWanted: () => boolean,
  ): Promise<GatewayTarget> {
    let last = new MqttSnError(ErrorCode.NO_GATEWAY, 'No gateway to connect to.');
    for (const next of order) {
      if (!stillWanted()) break;
      try {
        await this.useGateway(next);
        if (!stillWanted()) break;
        await this.run<void>(start);
        if (!this.session.connected) throw new MqttSnError(ErrorCode.NOT_CONNECTED, 'The session was lost while it was being restored.');
        return next;
      } catch (err) {
        last = err as MqttSnError;
        this.host.log(1, 'Reconnect', `${next.host}:${next.port} failed: ${last.description}`);
        if (last.code === ErrorCode.ABORTED) break;
      }
    }
    throw stillWanted() ? last : new MqttSnError(ErrorCode.ABORTED, 'Connecting was stopped.');
  }

  async openSocket(family: Family): Promise<void> {
    while (this.opening) await this.opening;
    const local = this.host.local();
    const dtls = this.settings.dtls.enabled ? () => dtlsClientOptions(this.settings.dtls) : undefined;
    const opening = this.transport.open(family, local.host, local.port, dtls).then(async () => {
      this.transport.setMulticastInterface(local.host);
      if (this.settings.discoveryListen) await this.listenDiscovery();
    });
    this.opening = opening;
    try {
      await opening;
    } finally {
      this.opening = undefined;
    }
  }

  listenDiscovery(): Promise<void> {
    return this.transport.listenDiscovery(this.settings.discoveryAddress, this.settings.discoveryPort, this.host.local().host);
  }

  /** Runs a session call as a promise and re-arms the timer afterwards. */
  run<T>(call: (resolve: (value: T) => void, reject: (error: MqttSnError) => void) => void): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      call(
        (value) => {
          resolve(value);
          this.arm();
        },
        (error) => {
          reject(error);
          this.arm();
        },
      );
    });
    this.arm();
    return promise;
  }

  /** Runs socket preparation (DNS, bind) that must not be undone by closeIfIdle() meanwhile. */
  async preparing<T>(work: () => Promise<T>): Promise<T> {
    this.preparations++;
    try {
      return await work();
    } finally {
      this.preparations--;
    }
  }

  /** With no session, no search, no listener and nobody holding it, nothing needs the socket. */
  closeIfIdle(): void {
    if (
      this.session.state === 'disconnected' &&
      this.preparations === 0 &&
      !this.discovery.searching &&
      !this.host.holdsSocket() &&
      !this.settings.discoveryListen
    ) {
      this.transport.close();
      this.disarm();
      this.arm();
    }
  }

  /** Every socket and timer released, every call rejected, every table cleared. */
  reset(reason: MqttSnError): void {
    this.session.reset();
    this.discovery.stop(reason);
    this.discovery.clear();
    this.transport.close();
    this.gateway = undefined;
    this.opening = undefined;
    this.disarm();
  }

  private sendToGateway(packet: Packet): void {
    if (!this.gateway) throw new MqttSnError(ErrorCode.NO_GATEWAY);
    this.send(packet, this.gateway);
  }

  send(packet: Packet, to: Endpoint): void {
    const datagram = encode(packet);
    if (datagram.length > this.settings.maxPacketSize) {
      throw new MqttSnError(ErrorCode.MESSAGE_TOO_LONG, `A ${packet.type} of ${datagram.length} octets exceeds MaxPacketSize.`);
    }
    this.transport.send(datagram, to);
    if (this.settings.logLevel >= 2) this.host.log(2, 'Packet', `Sent ${describe(packet)} to ${formatEndpoint(to)}.`);
  }

  private onDatagram({ data, from, packet: decoded, error: failure }: ReceivedDatagram): void {
    // Our own SEARCHGW looped back is no other client's request.
    if (this.transport.sentByUs(from)) return;
    if (data.length < 2) {
      this.reportError(new MqttSnError(ErrorCode.MESSAGE_TOO_SHORT, `Ignored a ${data.length}-octet datagram from ${formatEndpoint(from)}.`));
      return;
    }
    let packet: Packet;
    try {
      if (failure) throw failure;
      // A transport that decodes at the socket hands the packet over.
      packet = decoded ?? decode(data);
    } catch (err) {
      const error = err instanceof MqttSnError ? err : new MqttSnError(ErrorCode.UNEXPECTED_PACKET, String(err));
      this.reportError(new MqttSnError(error.code, `Malformed datagram from ${formatEndpoint(from)}: ${error.description}`));
      return;
    }
    if (this.settings.logLevel >= 2) this.host.log(2, 'Packet', `Received ${describe(packet)} from ${formatEndpoint(from)}.`);
    if (this.discovery.handle(packet, from)) {
      this.arm();
      this.closeIfIdle();
      return;
    }
    if (!this.gateway || !sameEndpoint(from, this.gateway)) {
      this.host.log(2, 'Packet', `Ignored ${packet.type} from ${formatEndpoint(from)}: not the gateway.`);
      return;
    }
    this.session.handle(packet);
    this.arm();
    this.closeIfIdle();
  }

  /** One real timer, armed at the earliest deadline of the session and discovery queues. */
  arm(): void {
    const at = Math.min(this.session.nextDeadline(), this.discovery.nextDeadline());
    // A timer due no later than needed stays: firing early costs one empty tick, re-arming on every call costs more.
    if (this.timer && this.timerAt <= at) return;
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.session.tick();
      this.discovery.tick();
      this.arm();
      this.closeIfIdle();
    }, Math.max(0, Math.ceil(at - this.clock())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private reportError(error: MqttSnError): void {
    this.host.emit('error', { errorCode: error.code, description: error.description });
    // A closed port ends a CONNECT at once rather than after its retransmissions.
    if (error.code === ErrorCode.PORT_UNREACHABLE && this.session.portUnreachable(error)) {
      this.arm();
      this.closeIfIdle();
    }
  }
}

function describe(packet: Packet): string {
  switch (packet.type) {
    case 'PUBLISH':
      return `PUBLISH(id ${String(packet.topicId)}, qos ${packet.qos}, msgId ${packet.msgId}${packet.dup ? ', dup' : ''}, ${packet.payload.length} octets)`;
    case 'PUBACK':
    case 'REGACK':
      return `${packet.type}(id ${packet.topicId}, msgId ${packet.msgId}, rc ${packet.returnCode})`;
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return `${packet.type}(msgId ${packet.msgId})`;
    default:
      return packet.type;
  }
}
