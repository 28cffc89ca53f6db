/**
 * Two connected in-memory duplex streams: what one side writes, the other
 * reads, in order, with back-pressure. The gateway reaches its embedded broker
 * this way, so an MQTT connection per client costs no socket and no file
 * descriptor. (Node.js 20 has no stream.duplexPair.)
 *
 * Like a socket, a pipe hands over what was written during one event-loop
 * turn in the next, and completes those writes then, never inside the
 * writer's call stack (the broker's answer to a write cannot run inside it).
 */
import { Duplex } from 'node:stream';

class PipeEnd extends Duplex {
  peer!: PipeEnd;
  private queued: Buffer[] = [];
  private writes: Array<() => void> = [];
  private scheduled: NodeJS.Immediate | undefined;
  /** Writes handed over and waiting for the peer's reader to ask for more. */
  private held: Array<() => void> = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.pass(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.pass(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), done);
  }

  override _read(): void {
    const held = this.peer.held;
    this.peer.held = [];
    for (const done of held) done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.handOver();
    this.peer.push(null);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const pending = [...this.writes, ...this.held];
    this.queued = [];
    this.writes = [];
    this.held = [];
    for (const write of pending) write();
    if (!this.peer.destroyed) this.peer.destroy();
    done(error);
  }

  private pass(chunk: Buffer, done: () => void): void {
    if (this.peer.destroyed) return done();
    this.queued.push(chunk);
    this.writes.push(done);
    this.scheduled ??= setImmediate(() => this.handOver());
  }

  /** Gives the peer everything written since the last hand-over. */
  private handOver(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.queued.length === 0) return;
    const chunk = this.queued.length === 1 ? this.queued[0] : Buffer.concat(this.queued);
    const writes = this.writes;
    this.queued = [];
    this.writes = [];
    if (this.peer.destroyed || this.peer.push(chunk)) {
      for (const done of writes) done();
    } else {
      this.held.push(...writes);
    }
  }
}

/** A connected pair: [client side, server side]. */
export function memoryPipe(): [Duplex, Duplex] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
