/**
 * Seeded generators for codec tests: random valid packets over every type (in
 * the canonical form decode() returns), random datagrams, and mutations.
 */
import type { Packet } from '../../lib/codec';

/** mulberry32: small, fast, good enough to spread test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(): boolean {
    return this.next() < 0.5;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  u8(): number {
    return this.int(0, 255);
  }
  u16(): number {
    return this.int(0, 0xffff);
  }
  msgId(): number {
    return this.int(1, 0xffff);
  }
  topicId(): number {
    return this.int(1, 0xfffe);
  }
  bytes(max: number): Buffer {
    const n = this.next() < 0.05 ? max : this.int(0, max);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u8();
    return out;
  }
  /** Topic-safe characters, some multi-octet in UTF-8. */
  private char(): string {
    const r = this.next();
    if (r < 0.2) return this.pick(['/', '-', '_', '.', ' ']);
    if (r < 0.8) return String.fromCharCode(this.int(0x61, 0x7a));
    if (r < 0.9) return this.pick(['é', 'ß', 'ü', 'Ω']);
    if (r < 0.97) return this.pick(['中', '€', '\u{FEFF}']);
    return this.pick(['😀', '\u{10FFFF}', '𝄞']);
  }
  text(minChars: number, maxChars: number): string {
    const n = this.int(minChars, maxChars);
    let s = '';
    for (let i = 0; i < n; i++) s += this.char();
    return s;
  }
  topicName(): string {
    return this.text(1, this.next() < 0.05 ? 200 : 30);
  }
  topicFilter(): string {
    const levels = this.int(1, 5);
    const parts: string[] = [];
    for (let i = 0; i < levels; i++) {
      const r = this.next();
      if (r < 0.15) parts.push('+');
      else if (r < 0.2 && i === levels - 1) parts.push('#');
      else parts.push(this.text(0, 8));
    }
    const filter = parts.join('/');
    return filter === '' ? 'a' : filter;
  }
  clientId(): string {
    for (;;) {
      const id = this.next() < 0.8 ? this.ascii(1, 23) : this.text(1, 12);
      const n = Buffer.byteLength(id);
      if (n >= 1 && n <= 23) return id;
    }
  }
  ascii(min: number, max: number): string {
    const n = this.int(min, max);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0x21, 0x7e));
    return s;
  }
  shortTopic(): string {
    return String.fromCharCode(this.int(1, 0x7f), this.int(1, 0x7f));
  }
  qos(): 0 | 1 | 2 {
    return this.pick([0, 1, 2] as const);
  }
  payload(): Buffer {
    const r = this.next();
    if (r < 0.005) return this.bytes(65531 - 5);
    if (r < 0.1) return this.bytes(600);
    return this.bytes(40);
  }

  /** A random valid packet, in the exact form decode() returns. */
  packet(allowEncapsulated = true): Packet {
    const kind = this.int(0, allowEncapsulated ? 27 : 26);
    switch (kind) {
      case 0:
        return { type: 'ADVERTISE', gwId: this.u8(), duration: this.u16() };
      case 1:
        return { type: 'SEARCHGW', radius: this.u8() };
      case 2:
        return this.bool() ? { type: 'GWINFO', gwId: this.u8() } : { type: 'GWINFO', gwId: this.u8(), gwAdd: Buffer.concat([Buffer.from([this.u8()]), this.bytes(16)]) };
      case 3:
        return { type: 'CONNECT', will: this.bool(), cleanSession: this.bool(), duration: this.u16(), clientId: this.clientId() };
      case 4:
        return { type: 'CONNACK', returnCode: this.u8() };
      case 5:
        return { type: 'WILLTOPICREQ' };
      case 6:
      case 7: {
        const type = kind === 6 ? 'WILLTOPIC' : 'WILLTOPICUPD';
        if (this.next() < 0.1) return { type, qos: 0, retain: false, willTopic: '' };
        return { type, qos: this.qos(), retain: this.bool(), willTopic: this.topicName() };
      }
      case 8:
        return { type: 'WILLMSGREQ' };
      case 9:
        return { type: 'WILLMSG', willMsg: this.payload() };
      case 10:
        return { type: 'REGISTER', topicId: this.bool() ? 0 : this.topicId(), msgId: this.msgId(), topicName: this.topicName() };
      case 11: {
        const returnCode = this.pick([0, 0, 1, 2, 3, this.u8()]);
        return { type: 'REGACK', topicId: returnCode === 0 ? this.topicId() : this.u16(), msgId: this.msgId(), returnCode };
      }
      case 12: {
        const topicIdType = this.pick([0, 1, 2] as const);
        const qos = this.pick(topicIdType === 0 ? ([0, 1, 2] as const) : ([-1, 0, 1, 2] as const));
        return {
          type: 'PUBLISH',
          dup: qos > 0 ? this.bool() : false,
          qos,
          retain: this.bool(),
          topicIdType,
          topicId: topicIdType === 2 ? this.shortTopic() : this.topicId(),
          msgId: qos > 0 ? this.msgId() : this.bool() ? 0 : this.u16(),
          payload: this.payload(),
        };
      }
      case 13:
        return { type: 'PUBACK', topicId: this.u16(), msgId: this.u16(), returnCode: this.u8() };
      case 14:
        return { type: 'PUBCOMP', msgId: this.msgId() };
      case 15:
        return { type: 'PUBREC', msgId: this.msgId() };
      case 16:
        return { type: 'PUBREL', msgId: this.msgId() };
      case 17:
      case 19: {
        const topicIdType = this.pick([0, 1, 2] as const);
        const topicId = topicIdType === 0 ? this.topicFilter() : topicIdType === 1 ? this.topicId() : this.shortTopic();
        if (kind === 19) return { type: 'UNSUBSCRIBE', topicIdType, msgId: this.msgId(), topicId };
        return { type: 'SUBSCRIBE', dup: this.bool(), qos: this.qos(), topicIdType, msgId: this.msgId(), topicId };
      }
      case 18:
        return { type: 'SUBACK', qos: this.qos(), topicId: this.u16(), msgId: this.msgId(), returnCode: this.u8() };
      case 20:
        return { type: 'UNSUBACK', msgId: this.msgId() };
      case 21:
        return this.bool() ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId: this.clientId() };
      case 22:
        return { type: 'PINGRESP' };
      case 23:
        return this.bool() ? { type: 'DISCONNECT' } : { type: 'DISCONNECT', duration: this.u16() };
      case 24:
        return { type: 'WILLTOPICRESP', returnCode: this.u8() };
      case 25:
        return { type: 'WILLMSGUPD', willMsg: this.payload() };
      case 26:
        return { type: 'WILLMSGRESP', returnCode: this.u8() };
      default:
        return { type: 'ENCAPSULATED', radius: this.int(0, 3), wirelessNodeId: this.bytes(8), packet: this.packet(false) };
    }
  }

  /** Random bytes, mostly with a consistent length octet and a plausible type. */
  datagram(): Buffer {
    const r = this.next();
    const n = this.int(0, 40);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u8();
    if (r < 0.3 || n < 2) return out;
    out[0] = n;
    out[1] = this.next() < 0.1 ? 0xfe : this.int(0, 0x1e);
    if (out[1] === 0xfe && n > 4) {
      const header = this.int(0, Math.min(8, n - 2));
      out[0] = header;
      if (header + 1 < n) out[header] = n - header;
      if (header + 1 < n) out[header + 1] = this.int(0, 0x1e);
    } else if (n > 2 && this.bool()) {
      out[2] &= 0xe3; // a plausible flags octet
    }
    return out;
  }

  /** A packet with one field replaced by junk, for encoder comparisons. */
  mutatedPacket(): Record<string, unknown> {
    const p = { ...(this.packet() as unknown as Record<string, unknown>) };
    const keys = Object.keys(p);
    const key = this.next() < 0.05 ? 'type' : this.pick(keys);
    p[key] = this.pick<unknown>([
      undefined, null, -1, 0, 1, 2, 3, 255, 256, 0xffff, 0x10000, 1.5, NaN, -0, 2 ** 31, -(2 ** 31), -2147483647,
      '', 'ab', 'a+', '#', 'x'.repeat(24), '\ud800', 'é', true, false, {}, Buffer.alloc(3), new Uint8Array(2),
      'ENCAPSULATED', 'PUBLISH', 'NOPE', Buffer.alloc(253),
    ]);
    return p;
  }
}
