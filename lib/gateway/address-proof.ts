/**
 * No amplification towards addresses that have not shown they receive. UDP
 * source addresses can be forged: without this, a 14-byte PINGREQ or a forged
 * CONNECT + SUBSCRIBE made the gateway stream data at a victim. An address
 * gets at most as many octets as it sent until it proves that it receives
 * what the gateway sends: by acknowledging a message id the gateway sent it
 * (PUBACK, PUBREC, PUBCOMP, REGACK), or by answering the gateway's PINGREQ.
 * What does not fit meanwhile waits in a small queue per address and goes out
 * once the address proves itself; beyond that it is dropped (and counted).
 */

import type { Packet } from '../codec/packets';

/** Wrong acknowledgements an unproven address may send before acknowledgements stop counting as proof. */
const MAX_MISSES = 16;
/** Message ids remembered per address (the newest). */
const EXPECTED_IDS = 32;
/** Datagrams held per unproven address of a session, and their octets. */
const HELD_DATAGRAMS = 8;
const HELD_BYTES = 4096;
/** A probe (PINGREQ) unanswered this long may be sent again (the first may have been lost). */
const PROBE_AGAIN_MS = 5000;

interface Ledger {
  received: number;
  sent: number;
  proven: boolean;
  /** Message ids sent to the address and not acknowledged yet. */
  expected: number[];
  misses: number;
  /** When our PINGREQ went out (-Infinity: none); a PINGRESP after it is an answer. */
  probedAt: number;
  /** A PINGRESP came while none was asked for: PINGRESP no longer proves anything for this address. */
  pingSpoiled: boolean;
  held: Buffer[];
  heldBytes: number;
}

export type SendVerdict = 'send' | 'held' | 'dropped';

/** What a packet from a client answers: the message id it acknowledges, 'ping' for PINGRESP, or nothing. */
export function answerOf(packet: Packet): number | 'ping' | undefined {
  switch (packet.type) {
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBCOMP':
    case 'REGACK':
      return packet.msgId;
    case 'PINGRESP':
      return 'ping';
    default:
      return undefined;
  }
}

/** The message id a packet to a client will be acknowledged with, if any. */
export function awaitedId(packet: Packet): number | undefined {
  if (packet.type === 'PUBLISH') return packet.qos > 0 ? packet.msgId : undefined;
  if (packet.type === 'REGISTER' || packet.type === 'PUBREL') return packet.msgId;
  return undefined;
}

export class AddressProof {
  private readonly ledgers = new Map<string, Ledger>();

  constructor(private readonly capacity: number) {}

  /** Addresses remembered. */
  get size(): number {
    return this.ledgers.size;
  }

  isProven(address: string): boolean {
    return this.ledgers.get(address)?.proven ?? false;
  }

  /** A datagram of `bytes` octets came from `address`. */
  received(address: string, bytes: number): void {
    const ledger = this.ledger(address);
    ledger.received += bytes;
  }

  /**
   * Whether `datagram` may go to `address` now: 'send' (counted), 'held'
   * (queued until the address proves itself; only when `hold`, for the
   * address of a session) or 'dropped'.
   */
  send(address: string, datagram: Buffer, hold = true): SendVerdict {
    const ledger = this.ledger(address);
    if (ledger.proven || (ledger.held.length === 0 && ledger.sent + datagram.length <= ledger.received)) {
      ledger.sent += datagram.length;
      return 'send';
    }
    if (!hold || ledger.held.length >= HELD_DATAGRAMS || ledger.heldBytes + datagram.length > HELD_BYTES) return 'dropped';
    ledger.held.push(datagram);
    ledger.heldBytes += datagram.length;
    return 'held';
  }

  /** Whether a probe (PINGREQ) should go out to an unproven address something was held back from: none is out yet. */
  wantsProbe(address: string, now: number): boolean {
    const ledger = this.ledgers.get(address);
    return ledger !== undefined && !ledger.proven && !ledger.pingSpoiled && now - ledger.probedAt >= PROBE_AGAIN_MS;
  }

  probeSent(address: string, now: number): void {
    this.ledger(address).probedAt = now;
  }

  /** The gateway sent a message id that the address must acknowledge. */
  expect(address: string, msgId: number): void {
    const ledger = this.ledger(address);
    if (ledger.proven) return;
    ledger.expected.push(msgId);
    if (ledger.expected.length > EXPECTED_IDS) ledger.expected.shift();
  }

  /**
   * An acknowledgement (its message id) or a PINGRESP ('ping') from `address`.
   * Returns the datagrams held for it when this proves it receives.
   */
  answered(address: string, msgId: number | 'ping'): Buffer[] {
    const ledger = this.ledgers.get(address);
    if (!ledger || ledger.proven) return [];
    if (msgId === 'ping') {
      if (ledger.pingSpoiled || ledger.probedAt === -Infinity) {
        ledger.pingSpoiled = true;
        return [];
      }
    } else {
      const index = ledger.expected.indexOf(msgId);
      if (index < 0 || ledger.misses >= MAX_MISSES) {
        ledger.misses++;
        return [];
      }
    }
    ledger.proven = true;
    ledger.expected = [];
    const held = ledger.held;
    ledger.held = [];
    ledger.heldBytes = 0;
    for (const datagram of held) ledger.sent += datagram.length;
    return held;
  }

  /**
   * A session starts or ends at `address`: what was held back for it is dropped and a probe may
   * go out at once. Ports are reused (a new socket, a NAT), and a new client there must not wait
   * behind datagrams held for one that is gone. The octet counts stay.
   */
  restart(address: string): void {
    const ledger = this.ledgers.get(address);
    if (!ledger) return;
    ledger.held = [];
    ledger.heldBytes = 0;
    ledger.probedAt = -Infinity;
  }

  clear(): void {
    this.ledgers.clear();
  }

  private ledger(address: string): Ledger {
    let ledger = this.ledgers.get(address);
    if (ledger) {
      // keep the Map in order of use: the least recently used is forgotten first
      this.ledgers.delete(address);
    } else {
      ledger = { received: 0, sent: 0, proven: false, expected: [], misses: 0, probedAt: -Infinity, pingSpoiled: false, held: [], heldBytes: 0 };
      if (this.ledgers.size >= this.capacity) {
        const oldest = this.ledgers.keys().next().value;
        if (oldest !== undefined) this.ledgers.delete(oldest);
      }
    }
    this.ledgers.set(address, ledger);
    return ledger;
  }
}
