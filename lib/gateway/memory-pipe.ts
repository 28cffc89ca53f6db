/**
 * Two connected in-memory duplex streams: what one side writes, the other
 * reads, in order, with back-pressure (a write completes once the reader has
 * room). The gateway reaches its embedded broker this way, so an MQTT
 * connection per client costs no socket and no file descriptor.
 * (Node.js 20 has no stream.duplexPair.)
 */
import { Duplex } from 'node:stream';

class PipeEnd extends Duplex {
  peer!: PipeEnd;
  /** The write waiting for the peer's reader to ask for more. */
  private held: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.pass(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.pass(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), done);
  }

  override _read(): void {
    const held = this.peer.held;
    this.peer.held = undefined;
    held?.();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.peer.push(null);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const held = this.held;
    this.held = undefined;
    held?.();
    if (!this.peer.destroyed) this.peer.destroy();
    done(error);
  }

  private pass(chunk: Buffer, done: () => void): void {
    if (this.peer.destroyed) return done();
    if (this.peer.push(chunk)) done();
    else this.held = done;
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
