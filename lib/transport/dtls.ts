/**
 * DTLS 1.2 as a layer over any datagram transport (node:dgram UDP, the
 * native engine, the in-memory network): ciphertext datagrams travel through
 * the inner transport, the addon (native/dtls*.cc, Node's own OpenSSL) keeps
 * one association per peer, and plaintext comes out with the peer's
 * authenticated identity.
 *
 * A server answers a ClientHello from an unknown address statelessly with a
 * cookie (HelloVerifyRequest, never larger than the request) and keeps state
 * only for peers that echo it. Retransmission and handshake deadlines run on
 * the package's timer queue, one setTimeout for all peers. A client starts a
 * handshake on connect() or on its first send and queues what it sends until
 * the handshake is done. Every failure is a coded error (270-284) reported
 * through onError, and through connect()'s promise.
 */
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encode } from '../codec';
import type { Packet } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { createTimerQueue, type TimerQueue } from '../timers';
import { coded, DtlsResult, loadDtlsBinding, type NativeDtlsBinding, type NativeDtlsContext } from './dtls-native';
import {
  clientContextOptions,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_PEERS,
  DEFAULT_SERVER_IDLE_MS,
  pskTable,
  serverContextOptions,
  type DtlsClientOptions,
  type DtlsServerOptions,
} from './dtls-options';
import { DtlsPeer, MAX_PENDING_WRITES } from './dtls-peer';
import { formatEndpoint, isMulticast, plainAddress, type Endpoint } from './endpoint';
import type { BatchListener, BindOptions, DatagramTransport, ReceivedDatagram, TransportErrorListener, TransportFactory } from './types';

export type DtlsTransportOptions = ({ role: 'client' } & DtlsClientOptions) | ({ role: 'server' } & DtlsServerOptions);

/** DTLS record: content type handshake (22), epoch 0, handshake type ClientHello (1). */
function isClientHello(datagram: Buffer): boolean {
  return datagram.length >= 25 && datagram[0] === 22 && datagram[3] === 0 && datagram[4] === 0 && datagram[13] === 1;
}

/** How a peer is named to the addon: its cookie is bound to this. */
function peerName(endpoint: Endpoint): string {
  return `${plainAddress(endpoint.address)}|${endpoint.port}`;
}

export class DtlsTransport implements DatagramTransport {
  readonly kind = 'dtls';
  private readonly binding: NativeDtlsBinding;
  private readonly context: NativeDtlsContext;
  private readonly server: boolean;
  private readonly handshakeTimeoutMs: number;
  private readonly maxPeers: number;
  private readonly idleTimeoutMs: number;
  private readonly servername: string | undefined;
  private readonly peers = new Map<string, DtlsPeer>();
  private readonly byId = new Map<number, DtlsPeer>();
  private readonly timers: TimerQueue = createTimerQueue();
  private readonly receivers: BatchListener[] = [];
  private readonly errorListeners: TransportErrorListener[] = [];
  private nextId = 1;
  private wake: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private keepAlive = true;
  private closing: Promise<void> | undefined;

  /** Throws a coded error at once: SECURITY_LIBRARY without the addon, 27x for unusable credentials. */
  constructor(
    private readonly inner: DatagramTransport,
    options: DtlsTransportOptions,
  ) {
    this.binding = loadDtlsBinding();
    this.server = options.role === 'server';
    const native = options.role === 'server' ? serverContextOptions(options) : clientContextOptions(options);
    this.context = coded(() => new this.binding.Context(native));
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.maxPeers = options.role === 'server' ? (options.maxPeers ?? DEFAULT_MAX_PEERS) : Infinity;
    this.idleTimeoutMs = options.idleTimeoutMs ?? (options.role === 'server' ? DEFAULT_SERVER_IDLE_MS : Infinity);
    this.servername = options.role === 'client' ? options.servername : undefined;
    inner.onReceive((batch) => this.receiveBatch(batch));
    inner.onError((error) => this.report(error));
  }

  get bound(): boolean {
    return this.inner.bound && !this.closing;
  }

  bind(options: BindOptions): Promise<void> {
    return this.inner.bind(options);
  }

  localAddress(): Endpoint | undefined {
    return this.inner.localAddress();
  }

  /** The peers with a completed handshake, with what they proved. */
  sessions(): { endpoint: Endpoint; identity: string; cipher: string; resumed: boolean }[] {
    return [...this.peers.values()]
      .filter((peer) => peer.connected)
      .map((peer) => ({ endpoint: peer.endpoint, identity: peer.identity, cipher: peer.cipher, resumed: peer.resumed }));
  }

  /** Peers with DTLS state, handshaking or connected. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Ends the association with `to`: close_notify, then its state is dropped (a client's next send handshakes again). */
  disconnect(to: Endpoint): void {
    const peer = this.peers.get(peerName(to));
    if (!peer) return;
    if (peer.connected && this.inner.bound) this.settle(peer, peer.connection.shutdown());
    this.forget(peer, new MqttSnError(ErrorCode.ABORTED, `The DTLS handshake with ${formatEndpoint(to)} was abandoned.`));
  }

  /** Replaces the server's pre-shared keys; handshakes after this use the new table. */
  setPskKeys(keys: DtlsServerOptions['pskKeys']): void {
    const table = pskTable(keys);
    coded(() => this.context.setPskKeys(table));
  }

  send(data: Buffer, to: Endpoint): void {
    if (!this.bound) {
      this.report(new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot send to ${formatEndpoint(to)}: the dtls transport is not bound.`));
      return;
    }
    if (isMulticast(to.address) || to.address === '255.255.255.255') {
      this.report(new MqttSnError(ErrorCode.INVALID_ARGUMENT, `DTLS cannot send to the group address ${formatEndpoint(to)}: it secures one peer at a time.`));
      return;
    }
    let peer = this.peers.get(peerName(to));
    if (!peer) {
      if (this.server) {
        this.report(new MqttSnError(ErrorCode.HANDSHAKE, `No DTLS session with ${formatEndpoint(to)}: the datagram is dropped.`));
        return;
      }
      peer = this.open(to);
      if (!peer) return;
    }
    if (!peer.connected) {
      if (peer.pending.length >= MAX_PENDING_WRITES) {
        this.report(new MqttSnError(ErrorCode.LIMIT_REACHED, `More than ${MAX_PENDING_WRITES} datagrams wait for the DTLS handshake with ${formatEndpoint(to)}: this one is dropped.`));
        return;
      }
      peer.pending.push(data);
      return;
    }
    this.write(peer, data);
  }

  sendPacket(packet: Packet, to: Endpoint): number {
    const data = encode(packet);
    this.send(data, to);
    return data.length;
  }

  /**
   * Client: resolves once the handshake with `to` is done (starting it if
   * needed); rejects with its coded error. `servername` is the name the
   * peer's certificate must carry (default: the option, else the address).
   */
  connect(to: Endpoint, servername?: string): Promise<void> {
    if (this.server) return Promise.reject(new MqttSnError(ErrorCode.WRONG_STATE, 'A DTLS server does not connect: clients connect to it.'));
    if (!this.bound) return Promise.reject(new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, 'The dtls transport is not bound.'));
    const peer = this.peers.get(peerName(to)) ?? this.open(to, servername);
    return peer ? peer.ready : Promise.reject(new MqttSnError(ErrorCode.HANDSHAKE, `Cannot start a DTLS handshake with ${formatEndpoint(to)}.`));
  }

  onReceive(listener: BatchListener): void {
    this.receivers.push(listener);
  }

  onError(listener: TransportErrorListener): void {
    this.errorListeners.push(listener);
  }

  addMembership(group: string, iface?: string): void {
    this.inner.addMembership(group, iface);
  }

  setMulticastInterface(iface: string): void {
    this.inner.setMulticastInterface(iface);
  }

  ref(): void {
    this.keepAlive = true;
    this.wake?.ref();
    this.inner.ref();
  }

  unref(): void {
    this.keepAlive = false;
    this.wake?.unref();
    this.inner.unref();
  }

  /** Sends close_notify to every peer, then closes the inner transport (which sends what is queued first). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const peer of [...this.peers.values()]) this.disconnect(peer.endpoint);
      this.disarm();
      await this.inner.close();
    })();
    return this.closing;
  }

  private open(to: Endpoint, servername?: string): DtlsPeer | undefined {
    let connection;
    try {
      connection = coded(() => new this.binding.Connection(this.context, peerName(to), isIPv6(to.address), servername ?? this.servername ?? to.address));
    } catch (error) {
      this.report(error as MqttSnError);
      return undefined;
    }
    const peer = this.adopt(to, connection);
    this.settle(peer, connection.start());
    return peer;
  }

  private adopt(endpoint: Endpoint, connection: DtlsPeer['connection']): DtlsPeer {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    const peer = new DtlsPeer(id, { address: endpoint.address, port: endpoint.port }, connection, performance.now() + this.handshakeTimeoutMs);
    peer.lastActive = performance.now();
    this.peers.set(peerName(endpoint), peer);
    this.byId.set(id, peer);
    return peer;
  }

  private receiveBatch(batch: readonly ReceivedDatagram[]): void {
    if (this.closing) return;
    const plaintext: ReceivedDatagram[] = [];
    for (const { data, from } of batch) {
      const name = peerName(from);
      let peer = this.peers.get(name);
      // A ClientHello on an established association: the peer restarted, or someone spoofs it. Only a
      // valid cookie (proof that the sender receives at that address) replaces the association.
      if (peer && (!this.server || !peer.connected || !isClientHello(data))) {
        this.settle(peer, peer.connection.receive(data), plaintext);
        continue;
      }
      if (!this.server || !isClientHello(data)) continue;
      if (!peer && this.peers.size >= this.maxPeers) continue;
      const verdict = this.context.accept(data, name, isIPv6(from.address));
      if (verdict === null) continue;
      if (verdict !== true) {
        this.inner.send(verdict, from);
        continue;
      }
      if (peer) this.forget(peer);
      peer = this.adopt(from, coded(() => new this.binding.Connection(this.context, name, isIPv6(from.address))));
      this.settle(peer, peer.connection.start(), plaintext);
    }
    if (plaintext.length === 0) return;
    for (const listener of this.receivers) listener(plaintext);
  }

  /** Acts on what a connection operation produced. */
  private settle(peer: DtlsPeer, result: number, plaintext?: ReceivedDatagram[]): void {
    const { connection, endpoint } = peer;
    peer.lastActive = performance.now();
    if (result & DtlsResult.OUTPUT) {
      for (const datagram of connection.takeOutput()) this.inner.send(datagram, endpoint);
    }
    if (result & DtlsResult.FAILED) {
      const failure = connection.error();
      const error = new MqttSnError(failure?.code ?? ErrorCode.HANDSHAKE, `DTLS with ${formatEndpoint(endpoint)}: ${failure?.message ?? 'failed.'}`);
      this.forget(peer, error);
      this.report(error);
      return;
    }
    if (result & DtlsResult.CONNECTED) {
      peer.established();
      for (const data of peer.pending.splice(0)) this.write(peer, data);
    }
    if (result & DtlsResult.DATA) {
      const identity = peer.identity;
      for (const data of connection.takeData()) {
        const datagram = { data, from: endpoint, ...(identity ? { identity } : {}) };
        if (plaintext) plaintext.push(datagram);
        else for (const listener of this.receivers) listener([datagram]);
      }
    }
    if (result & DtlsResult.CLOSED) {
      // The peer said close_notify: a client's next send starts a new (resumed) handshake.
      this.forget(peer);
      return;
    }
    this.schedule(peer);
  }

  private write(peer: DtlsPeer, data: Buffer): void {
    if (data.length > peer.dataMtu) {
      this.report(new MqttSnError(ErrorCode.MESSAGE_TOO_LONG, `${data.length} octets do not fit one DTLS record within the path MTU to ${formatEndpoint(peer.endpoint)} (at most ${peer.dataMtu}).`));
      return;
    }
    this.settle(peer, peer.connection.write(data));
  }

  /** Re-arms the peer's timer: the retransmission time, the handshake deadline or the idle limit, whichever is first. */
  private schedule(peer: DtlsPeer): void {
    if (!this.byId.has(peer.id)) return;
    const retransmit = peer.connection.nextTimeout();
    const now = performance.now();
    let deadline = retransmit >= 0 ? now + retransmit : Infinity;
    deadline = Math.min(deadline, peer.connected ? peer.lastActive + this.idleTimeoutMs : peer.handshakeDeadline);
    if (Number.isFinite(deadline)) this.timers.schedule(peer.id, deadline);
    else this.timers.cancel(peer.id);
    this.arm();
  }

  private arm(): void {
    const next = this.timers.nextDeadline();
    if (next === this.wakeAt) return;
    this.disarm();
    if (!Number.isFinite(next)) return;
    this.wakeAt = next;
    this.wake = setTimeout(() => this.fire(), Math.max(0, Math.ceil(next - performance.now())));
    if (!this.keepAlive) this.wake.unref();
  }

  private disarm(): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    this.wakeAt = Infinity;
  }

  private fire(): void {
    this.wake = undefined;
    this.wakeAt = Infinity;
    const now = performance.now();
    for (const id of this.timers.expire(now)) {
      const peer = this.byId.get(id);
      if (!peer) continue;
      if (!peer.connected && now >= peer.handshakeDeadline) {
        const error = new MqttSnError(
          ErrorCode.HANDSHAKE,
          `DTLS with ${formatEndpoint(peer.endpoint)}: Error during handshake: no valid answer within ${Math.round(this.handshakeTimeoutMs / 1000)} s ` +
            '(a wrong pre-shared key, a peer that does not speak DTLS, or no route).',
        );
        this.forget(peer, error);
        this.report(error);
        continue;
      }
      if (peer.connected && now >= peer.lastActive + this.idleTimeoutMs) {
        this.disconnect(peer.endpoint);
        continue;
      }
      this.settle(peer, peer.connection.timeout());
    }
    this.arm();
  }

  /** Drops the peer's state; a handshake in progress fails with `error`. */
  private forget(peer: DtlsPeer, error?: MqttSnError): void {
    if (this.byId.get(peer.id) !== peer) return;
    this.byId.delete(peer.id);
    if (this.peers.get(peerName(peer.endpoint)) === peer) this.peers.delete(peerName(peer.endpoint));
    this.timers.cancel(peer.id);
    if (!peer.connected) peer.failed(error ?? new MqttSnError(ErrorCode.HANDSHAKE, `The DTLS handshake with ${formatEndpoint(peer.endpoint)} was replaced.`));
    peer.connection.free();
  }

  private report(error: MqttSnError): void {
    for (const listener of this.errorListeners) listener(error);
  }
}

/** Makes DTLS transports over transports from `inner` (throws SECURITY_LIBRARY at once without the addon). */
export function dtlsTransport(options: DtlsTransportOptions, inner: TransportFactory): TransportFactory {
  loadDtlsBinding();
  return () => new DtlsTransport(inner(), options);
}
