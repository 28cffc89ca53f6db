/**
 * What every datagram transport does the same way, whatever carries the
 * datagrams: listeners, sends queued and flushed once per event-loop turn
 * (order kept), received datagrams handed over in batches once per turn,
 * coded errors, and a close that flushes first and may be called twice.
 * A transport supplies only how to open, transmit and shut its carrier.
 */
import { encode } from '../codec';
import type { Packet } from '../codec/packets';
import { ErrorCode, MqttSnError } from '../errors';
import { formatEndpoint, type Endpoint } from './endpoint';
import type { BatchListener, BindOptions, DatagramTransport, ReceivedDatagram, TransportErrorListener } from './types';

interface Outgoing {
  data: Buffer;
  to: Endpoint;
}

/** A coded error for a failure of the carrier (a socket error, an unreachable address). */
export function socketError(what: string, cause?: unknown): MqttSnError {
  if (cause instanceof MqttSnError) return cause;
  const detail = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new MqttSnError(ErrorCode.SOCKET_ERROR, `${what}${detail}`);
}

/** Why a destination cannot be sent to, or undefined when it can (shared with the native transport). */
export function badDestination(to: Endpoint): string | undefined {
  if (!to || typeof to.address !== 'string' || to.address === '') return 'no destination address';
  if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) return `port ${String(to.port)} is not 1 to 65535`;
  return undefined;
}

export abstract class QueuedTransport implements DatagramTransport {
  abstract readonly kind: string;
  private readonly receivers: BatchListener[] = [];
  private readonly errorListeners: TransportErrorListener[] = [];
  private outgoing: Outgoing[] = [];
  private incoming: ReceivedDatagram[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private delivering: NodeJS.Immediate | undefined;
  private state: 'new' | 'binding' | 'bound' | 'closed' = 'new';
  private closing: Promise<void> | undefined;

  get bound(): boolean {
    return this.state === 'bound';
  }

  async bind(options: BindOptions): Promise<void> {
    if (this.state !== 'new') {
      throw new MqttSnError(ErrorCode.UDP_ALREADY_ACTIVE, `This ${this.kind} transport was bound already; make a new one.`);
    }
    this.state = 'binding';
    try {
      await this.open(options);
    } catch (error) {
      this.state = 'closed';
      throw socketError(`Cannot bind ${this.kind} ${options.address || '*'}:${options.port ?? 0}`, error);
    }
    if (this.closing) {
      // close() came while binding: it released nothing yet, so release what the bind opened.
      await this.release();
      throw new MqttSnError(ErrorCode.ABORTED, `The ${this.kind} transport was closed while binding.`);
    }
    this.state = 'bound';
  }

  abstract localAddress(): Endpoint | undefined;

  send(data: Buffer, to: Endpoint): void {
    if (this.state !== 'bound') {
      this.report(new MqttSnError(ErrorCode.UDP_NOT_ACTIVE, `Cannot send to ${to ? formatEndpoint(to) : 'nowhere'}: the ${this.kind} transport is not bound.`));
      return;
    }
    const bad = badDestination(to);
    if (bad) {
      this.report(new MqttSnError(ErrorCode.INVALID_ARGUMENT, `Cannot send: ${bad}.`));
      return;
    }
    this.outgoing.push({ data, to: { address: to.address, port: to.port } });
    this.flushing ??= setImmediate(() => this.flush());
  }

  sendPacket(packet: Packet, to: Endpoint): number {
    const data = encode(packet);
    this.send(data, to);
    return data.length;
  }

  onReceive(listener: BatchListener): void {
    this.receivers.push(listener);
  }

  onError(listener: TransportErrorListener): void {
    this.errorListeners.push(listener);
  }

  abstract addMembership(group: string, iface?: string): void;
  abstract setMulticastInterface(iface: string): void;
  abstract ref(): void;
  abstract unref(): void;

  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  /** Opens the carrier; throws (anything) when it cannot. */
  protected abstract open(options: BindOptions): Promise<void>;
  /** Hands one datagram to the carrier; failures go to report(). */
  protected abstract transmit(data: Buffer, to: Endpoint): void;
  /** Shuts the carrier; nothing is transmitted or received afterwards. May be called again after open() ends. */
  protected abstract release(): Promise<void>;

  /** A datagram from the carrier: delivered with the others of this turn. */
  protected received(datagram: ReceivedDatagram): void {
    if (this.state !== 'bound') return;
    this.incoming.push(datagram);
    this.delivering ??= setImmediate(() => this.deliver());
  }

  protected report(error: MqttSnError): void {
    for (const listener of this.errorListeners) listener(error);
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    const batch = this.outgoing;
    this.outgoing = [];
    for (const { data, to } of batch) this.transmit(data, to);
  }

  private deliver(): void {
    this.delivering = undefined;
    const batch = this.incoming;
    this.incoming = [];
    if (batch.length === 0 || this.state !== 'bound') return;
    for (const listener of this.receivers) listener(batch);
  }

  private async shut(): Promise<void> {
    if (this.state === 'bound') this.flush();
    this.state = 'closed';
    if (this.delivering) clearImmediate(this.delivering);
    this.delivering = undefined;
    this.incoming = [];
    await this.release();
  }
}
