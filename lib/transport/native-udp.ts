/**
 * The native batched UDP transport (kind 'native-udp'): the addon's engine
 * (native/udp.cc) owns the socket on Node's event loop, reads with recvmmsg,
 * decodes each datagram where it lands and calls in here once per batch; the
 * sends of one event-loop turn leave in sendmmsg calls, the hot packets
 * (PUBLISH, PUBACK, PUBREC/REL/COMP, PINGRESP) encoded by the engine on the way.
 *
 * Both directions go through shared memory rather than arguments: received
 * fields in an Int32Array of records and octets in a slab (handed out as
 * slices, never rewritten, so a kept payload stays valid); sends as records
 * plus a slab the raw datagrams and payloads are copied into.
 * Its twin is the node:dgram transport (udp.ts); both pass the same suites.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { encode } from '../codec';
import { bool, decodedFromSlots, decodeErrorFromSlots, num } from '../codec/native-codec';
import { codecError } from '../codec/codec-error';
import type { Packet } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { isTopicId, shortTopicToId } from '../topic-ids';
import { EncodeSlot } from '../twin-contract';
import { loadAddon, loadNative, type NativeUdpBinding, type NativeUdpEngine } from '../native';
import { formatEndpoint, sameEndpoint, type Endpoint } from './endpoint';
import { badDestination, socketError } from './queued';
import type { BatchListener, BindOptions, DatagramTransport, ReceivedDatagram, TransportErrorListener } from './types';

// Receive record fields (RecvField in native/udp.cc).
const R_START = 0;
const R_LENGTH = 1;
const R_FAMILY = 2;
const R_PORT = 3;
const R_ADDR = 4;
const R_RESULT = 8;
// Send header and record fields (SendHeader, SendField in native/udp.cc).
const H_ERRNO = 1;
const H_ENCODE_ERROR = 2;
const H_ENCODE_CONTEXT = 3;
const S_KIND = 0;
const S_FAMILY = 1;
const S_PORT = 2;
const S_ADDR = 3;
const S_START = 7;
const S_LENGTH = 8;
const S_SHORT_TOPIC = 9;
// Bind flags (BindFlag in native/udp.cc).
const ECONNREFUSED = osConstants.errno.ECONNREFUSED;
const REUSE_ADDRESS = 1;
const REUSE_PORT = 2;
const BROADCAST = 4;
const SEARCH_TO_FIRST = 16;

/**
 * Slabs start small (a client socket that sees a few datagrams pins little) and
 * double each time one fills, up to SLAB_MAX, so a busy socket fills few.
 */
const SLAB_MIN = 8 * 1024;
const SLAB_MAX = 256 * 1024;
/** Larger than any UDP datagram: what a single send may take. */
const DATAGRAM_MAX = 65536 + 1024;
/** Cached endpoints and parsed destinations; cleared when this many are known (spoofed sources cannot grow it). */
const CACHE_LIMIT = 65536;

/** The addon's UDP engine binding, or undefined when the addon or the engine is not available here. */
export function nativeUdpBinding(): NativeUdpBinding | undefined {
  return loadAddon().addon?.udp;
}

/**
 * Whether the native engine is on for defaults: the addon loads, has the
 * engine (Linux) and MQTTSN_NATIVE is not 0.
 */
export function nativeUdpEnabled(): boolean {
  try {
    return loadNative()?.udp !== undefined;
  } catch {
    return false; // MQTTSN_NATIVE=1 without the addon: the codec reports that loudly
  }
}

/** Whether the native UDP transport can be made on this machine. */
export function nativeUdpAvailable(): boolean {
  return nativeUdpBinding() !== undefined;
}

function errnoError(what: string, code: number): MqttSnError {
  let name: string;
  try {
    name = getSystemErrorName(code < 0 ? code : -code);
  } catch {
    name = `errno ${code}`;
  }
  return socketError(what, new Error(name));
}

const u16 = (v: unknown, min: number, max = 0xffff): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const flag = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
const shortUnit = (c: number): boolean => c >= 0x01 && c <= 0x7f;

/**
 * Whether the engine may encode `packet` at flush time: only the hot packets,
 * and only in the plain shapes a session produces, so its encoder cannot
 * refuse them. Anything else is encoded here, where a bad packet throws.
 */
function encodableAtSocket(packet: Packet): boolean {
  switch (packet.type) {
    case 'PUBLISH': {
      const { qos, topicIdType, topicId, msgId, payload } = packet;
      if (!(payload instanceof Uint8Array) || payload.length > 0xffff - 16) return false;
      if (qos !== 0 && qos !== 1 && qos !== 2) return false;
      if (!flag(packet.dup) || !flag(packet.retain) || (packet.dup === true && qos === 0)) return false;
      if (qos === 0 ? msgId !== undefined && !u16(msgId, 0) : !u16(msgId, 1)) return false;
      if (topicIdType === 2) return typeof topicId === 'string' && topicId.length === 2 && shortUnit(topicId.charCodeAt(0)) && shortUnit(topicId.charCodeAt(1));
      return (topicIdType === 0 || topicIdType === 1) && isTopicId(topicId);
    }
    case 'PUBACK':
      return u16(packet.topicId, 0) && u16(packet.msgId, 1) && u16(packet.returnCode, 0, 3);
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      return u16(packet.msgId, 1);
    case 'PINGRESP':
      return true;
    default:
      return false;
  }
}

/** Octets of a hot packet as the engine will encode it (two more with the 3-octet length form). */
function hotSize(packet: Packet): number {
  switch (packet.type) {
    case 'PUBLISH': {
      const body = 6 + (packet.payload as Uint8Array).length;
      return body + 1 <= 255 ? body + 1 : body + 3;
    }
    case 'PUBACK':
      return 7;
    case 'PINGRESP':
      return 2;
    default:
      return 4;
  }
}

const TYPE_OCTET: Record<string, number> = { PUBLISH: 0x0c, PUBACK: 0x0d, PUBCOMP: 0x0e, PUBREC: 0x0f, PUBREL: 0x10, PINGRESP: 0x17 };

/** A parsed destination: family and address words as the engine reads them. */
interface Destination {
  family: number;
  w: [number, number, number, number];
}

export class NativeUdpTransport implements DatagramTransport {
  readonly kind = 'native-udp';
  private readonly binding: NativeUdpBinding;
  private readonly engine: NativeUdpEngine;
  private readonly records: Int32Array;
  /** One view of the decode slots per record, made once. */
  private readonly slotViews: Int32Array[] = [];
  private readonly sends: Int32Array;
  private sendSlab: Buffer;
  private sendCount = 0;
  private sendUsed = 0;
  private flushing: NodeJS.Immediate | undefined;
  private slab: Buffer;
  private readonly receivers: BatchListener[] = [];
  private readonly errorListeners: TransportErrorListener[] = [];
  private state: 'new' | 'binding' | 'bound' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  private family = 4;
  private keepAlive = true;
  private readonly endpoints4 = new Map<number, Endpoint>();
  private readonly endpoints6 = new Map<string, Endpoint>();
  private readonly destinations = new Map<string, Destination | null>();
  private readonly scratch = new Int32Array(4);
  /** The one peer the socket is connected to (connect()), if any. */
  private peer: Endpoint | undefined;

  constructor(binding: NativeUdpBinding | undefined = nativeUdpBinding()) {
    if (!binding) {
      throw new MqttSnError(
        ErrorCode.SOCKET_ERROR,
        'The native-udp transport needs the native addon built for Linux (npx node-gyp rebuild); use the udp transport instead.',
      );
    }
    this.binding = binding;
    this.records = new Int32Array(new ArrayBuffer(binding.maxBatch * binding.recvStride * 4));
    for (let i = 0; i < binding.maxBatch; i++) {
      const base = i * binding.recvStride + binding.recvDecode;
      this.slotViews.push(this.records.subarray(base, base + binding.recvStride - binding.recvDecode));
    }
    this.sends = new Int32Array(new ArrayBuffer((binding.sendHeader + binding.maxSend * binding.sendStride) * 4));
    this.sendSlab = Buffer.allocUnsafeSlow(SLAB_MIN);
    this.slab = Buffer.allocUnsafeSlow(SLAB_MIN);
    this.engine = new binding.UdpEngine(
      (count, need) => this.onBatch(count, need),
      (code) => this.report(this.receiveError(code)),
      this.records,
      this.sends,
    );
    this.engine.setReceiveSlab(this.slab);
    this.engine.setSendSlab(this.sendSlab);
  }

  get bound(): boolean {
    return this.state === 'bound';
  }

  /** Whether the kernel hands datagrams over in recvmmsg batches (false: one by one). */
  get batchedReceive(): boolean {
    return this.engine.usingRecvmmsg();
  }

  async bind(options: BindOptions): Promise<void> {
    if (this.state !== 'new') {
      throw new MqttSnError(ErrorCode.UDP_ALREADY_ACTIVE, `This ${this.kind} transport was bound already; make a new one.`);
    }
    this.state = 'binding';
    const flags =
      (options.reuseAddress ? REUSE_ADDRESS : 0) |
      (options.reusePort ? REUSE_PORT : 0) |
      (options.broadcast ? BROADCAST : 0) |
      (options.searchToFirst ? SEARCH_TO_FIRST : 0);
    const rc = this.engine.bind(
      options.family,
      options.address ?? '',
      options.port ?? 0,
      flags,
      options.receiveBufferBytes ?? 0,
      options.sendBufferBytes ?? 0,
    );
    if (rc !== 0) {
      this.state = 'closed';
      throw errnoError(`Cannot bind ${this.kind} ${options.address || '*'}:${options.port ?? 0}`, rc);
    }
    this.family = options.family;
    if (!this.keepAlive) this.engine.unref();
    this.state = 'bound';
  }

  localAddress(): Endpoint | undefined {
    if (this.state !== 'bound') return undefined;
    const local = this.engine.localAddress();
    return local ? { address: local[1], port: local[2] } : undefined;
  }

  send(data: Buffer, to: Endpoint): void {
    const record = this.record(to, data.length);
    if (record < 0) return;
    const s = this.sends;
    s[record + S_KIND] = 0;
    s[record + S_START] = this.sendUsed;
    s[record + S_LENGTH] = data.length;
    data.copy(this.sendSlab, this.sendUsed);
    this.sendUsed += data.length;
  }

  sendPacket(packet: Packet, to: Endpoint): number {
    if (!encodableAtSocket(packet)) {
      const data = encode(packet);
      this.send(data, to);
      return data.length;
    }
    const payload = packet.type === 'PUBLISH' ? packet.payload : undefined;
    const size = hotSize(packet);
    const record = this.record(to, payload ? payload.length : 0);
    if (record < 0) return size;
    const s = this.sends;
    const e = record + this.binding.sendEncode;
    s[record + S_KIND] = 1;
    s[record + S_START] = this.sendUsed;
    s[record + S_LENGTH] = payload ? payload.length : 0;
    s[record + S_SHORT_TOPIC] = -1;
    s[e + EncodeSlot.TYPE] = TYPE_OCTET[packet.type];
    switch (packet.type) {
      case 'PUBLISH':
        s[e + EncodeSlot.DUP] = bool(packet.dup);
        s[e + EncodeSlot.QOS] = packet.qos;
        s[e + EncodeSlot.RETAIN] = bool(packet.retain);
        s[e + EncodeSlot.TOPIC_ID_TYPE] = packet.topicIdType;
        if (typeof packet.topicId === 'string') {
          s[record + S_SHORT_TOPIC] = shortTopicToId(packet.topicId);
        } else {
          s[e + EncodeSlot.TOPIC_ID] = packet.topicId;
        }
        s[e + EncodeSlot.MSG_ID] = num(packet.msgId);
        this.sendSlab.set(packet.payload, this.sendUsed);
        this.sendUsed += packet.payload.length;
        break;
      case 'PUBACK':
        s[e + EncodeSlot.TOPIC_ID] = packet.topicId;
        s[e + EncodeSlot.MSG_ID] = packet.msgId;
        s[e + EncodeSlot.RETURN_CODE] = packet.returnCode;
        break;
      case 'PUBREC':
      case 'PUBREL':
      case 'PUBCOMP':
        s[e + EncodeSlot.MSG_ID] = packet.msgId;
        break;
      default:
        break;
    }
    return size;
  }

  onReceive(listener: BatchListener): void {
    this.receivers.push(listener);
  }

  onError(listener: TransportErrorListener): void {
    this.errorListeners.push(listener);
  }

  /**
   * Connects the socket to `to`, the one peer it talks to (a client's
   * gateway), as the node:dgram transport does: an ICMP port unreachable for
   * it then reaches onError as PORT_UNREACHABLE, and localAddress() shows the
   * interface the route uses. A send to anyone else disconnects first.
   */
  async connect(to: Endpoint): Promise<void> {
    this.mustBeBound('connect');
    if (this.peer && sameEndpoint(this.peer, to)) return;
    this.disconnectPeer();
    const destination = this.destination(to.address);
    const rc = destination ? this.engine.connect(destination.family, to.port, ...destination.w) : -22;
    if (rc !== 0) throw errnoError(`Cannot connect to ${formatEndpoint(to)}`, rc);
    this.peer = { address: to.address, port: to.port };
    await Promise.resolve();
  }

  private disconnectPeer(): void {
    if (!this.peer) return;
    this.flush();
    this.peer = undefined;
    this.engine.connect(0, -1, 0, 0, 0, 0);
  }

  /** A socket error: a refused connected peer is PORT_UNREACHABLE, anything else SOCKET_ERROR. */
  private receiveError(code: number): MqttSnError {
    if (this.peer && Math.abs(code) === ECONNREFUSED) {
      return new MqttSnError(ErrorCode.PORT_UNREACHABLE, `Nothing listens on ${formatEndpoint(this.peer)} (ICMP port unreachable).`);
    }
    return errnoError('UDP socket error', code);
  }

  addMembership(group: string, iface?: string): void {
    this.mustBeBound('join a multicast group');
    const rc = this.engine.addMembership(group, iface);
    if (rc !== 0) throw errnoError(`Cannot join multicast group ${group}${iface ? ` on ${iface}` : ''}`, rc);
  }

  setMulticastInterface(iface: string): void {
    this.mustBeBound('choose a multicast interface');
    const rc = this.engine.setMulticastInterface(iface);
    if (rc !== 0) throw errnoError(`Cannot send multicast through ${iface}`, rc);
  }

  ref(): void {
    this.keepAlive = true;
    if (this.state === 'bound') this.engine.ref();
  }

  unref(): void {
    this.keepAlive = false;
    if (this.state === 'bound') this.engine.unref();
  }

  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  private async shut(): Promise<void> {
    const wasBound = this.state === 'bound';
    if (wasBound) this.flush();
    this.state = 'closed';
    this.peer = undefined;
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    await new Promise<void>((resolve) => this.engine.close(resolve));
  }

  private mustBeBound(what: string): void {
    if (this.state !== 'bound') throw new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot ${what}: the ${this.kind} transport is not bound.`);
  }

  /**
   * Claims the next send record for `to` with `octets` of slab, flushing first
   * when records or slab are used up; returns its index or -1 after reporting
   * why the datagram cannot be sent.
   */
  private record(to: Endpoint, octets: number): number {
    if (this.state !== 'bound') {
      this.report(new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot send to ${to ? formatEndpoint(to) : 'nowhere'}: the ${this.kind} transport is not bound.`));
      return -1;
    }
    const bad = badDestination(to);
    if (bad) {
      this.report(new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Cannot send: ${bad}.`));
      return -1;
    }
    if (octets > DATAGRAM_MAX) {
      this.report(socketError(`Cannot send to ${formatEndpoint(to)}`, new Error(`a datagram of ${octets} octets is too large`)));
      return -1;
    }
    if (this.peer && !sameEndpoint(this.peer, to)) this.disconnectPeer();
    const destination = this.destination(to.address);
    if (!destination) {
      this.report(socketError(`Cannot send to ${formatEndpoint(to)}`, new Error(`not an IPv${this.family} address`)));
      return -1;
    }
    if (this.sendCount === this.binding.maxSend) this.flush();
    if (this.sendUsed + octets > this.sendSlab.length) this.growSendSlab(octets);
    const record = this.binding.sendHeader + this.sendCount * this.binding.sendStride;
    this.sendCount++;
    const s = this.sends;
    s[record + S_FAMILY] = destination.family;
    s[record + S_PORT] = to.port;
    const w = destination.w;
    s[record + S_ADDR] = w[0];
    s[record + S_ADDR + 1] = w[1];
    s[record + S_ADDR + 2] = w[2];
    s[record + S_ADDR + 3] = w[3];
    this.flushing ??= setImmediate(() => this.flush());
    return record;
  }

  /** The address words to send to, in this socket's family (IPv4 through an IPv6 socket as ::ffff:a.b.c.d). */
  private destination(address: string): Destination | null {
    let found = this.destinations.get(address);
    if (found !== undefined) return found;
    const family = this.binding.parseAddress(address, this.scratch);
    const [a, b, c, d] = this.scratch;
    found = null;
    if (family === 4 && this.family === 4) found = { family: 4, w: [a, 0, 0, 0] };
    else if (family === 4) found = { family: 6, w: [0, 0, 0xffff, a] };
    else if (family === 6 && this.family === 6) found = { family: 6, w: [a, b, c, d] };
    else if (family === 6 && a === 0 && b === 0 && c === 0xffff) found = { family: 4, w: [d, 0, 0, 0] };
    if (this.destinations.size >= CACHE_LIMIT) this.destinations.clear();
    this.destinations.set(address, found);
    return found;
  }

  /** Sends what is queued, then gives the engine a send slab that holds `octets` (double the last, up to SLAB_MAX). */
  private growSendSlab(octets: number): void {
    this.flush();
    const size = Math.max(octets, Math.min(SLAB_MAX, this.sendSlab.length * 2));
    if (size <= this.sendSlab.length) return;
    this.sendSlab = Buffer.allocUnsafeSlow(size);
    this.engine.setSendSlab(this.sendSlab);
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    const count = this.sendCount;
    this.sendCount = 0;
    this.sendUsed = 0;
    if (count === 0) return;
    const failed = this.engine.flush(count);
    if (failed === 0) return;
    const h = this.sends;
    const many = failed > 1 ? ` (${failed} datagrams)` : '';
    if (h[H_ENCODE_ERROR] !== 0) this.report(codecError(h[H_ENCODE_ERROR], h[H_ENCODE_CONTEXT]));
    if (h[H_ERRNO] === ECONNREFUSED && this.peer) this.report(this.receiveError(ECONNREFUSED));
    else if (h[H_ERRNO] !== 0) this.report(errnoError(`Cannot send${many}`, h[H_ERRNO]));
  }

  private onBatch(count: number, need: number): void {
    const slab = this.slab;
    if (need > 0) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(need, Math.min(SLAB_MAX, slab.length * 2)));
      this.engine.setReceiveSlab(this.slab);
    }
    if (count === 0 || this.state !== 'bound') return;
    const r = this.records;
    const stride = this.binding.recvStride;
    const batch: ReceivedDatagram[] = new Array<ReceivedDatagram>(count);
    for (let i = 0; i < count; i++) {
      const base = i * stride;
      const start = r[base + R_START];
      const data = slab.subarray(start, start + r[base + R_LENGTH]);
      const from = this.endpoint(base);
      const rc = r[base + R_RESULT];
      const slots = this.slotViews[i];
      batch[i] = rc === 0 ? { data, from, packet: decodedFromSlots(slots, data) } : { data, from, error: decodeErrorFromSlots(rc, slots) };
    }
    for (const listener of this.receivers) listener(batch);
  }

  /** The sender of record `base`, one shared object per address and port. */
  private endpoint(base: number): Endpoint {
    const r = this.records;
    const port = r[base + R_PORT];
    if (r[base + R_FAMILY] === 4) {
      const key = (r[base + R_ADDR] >>> 0) * 65536 + port;
      let found = this.endpoints4.get(key);
      if (!found) {
        if (this.endpoints4.size >= CACHE_LIMIT) this.endpoints4.clear();
        found = { address: this.binding.formatAddress(4, r[base + R_ADDR] >>> 0), port };
        this.endpoints4.set(key, found);
      }
      return found;
    }
    const w0 = r[base + R_ADDR] >>> 0;
    const w1 = r[base + R_ADDR + 1] >>> 0;
    const w2 = r[base + R_ADDR + 2] >>> 0;
    const w3 = r[base + R_ADDR + 3] >>> 0;
    const key = `${w0}.${w1}.${w2}.${w3}.${port}`;
    let found = this.endpoints6.get(key);
    if (!found) {
      if (this.endpoints6.size >= CACHE_LIMIT) this.endpoints6.clear();
      found = { address: this.binding.formatAddress(6, w0, w1, w2, w3), port };
      this.endpoints6.set(key, found);
    }
    return found;
  }

  private report(error: MqttSnError): void {
    for (const listener of this.errorListeners) listener(error);
  }
}

/** Makes native batched UDP transports; throws a coded error where the engine is not available. */
export const nativeUdpTransport = (): NativeUdpTransport => new NativeUdpTransport();
