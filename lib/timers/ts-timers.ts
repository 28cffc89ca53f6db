/**
 * TypeScript timer queue: a binary min-heap ordered by (deadline, scheduling
 * sequence) plus a hash table from timer id to its node, so schedule, reschedule and
 * cancel are O(log n) and timers with equal deadlines expire in the order they
 * were scheduled.
 *
 * Nodes live in parallel typed arrays (no object per timer, nothing for the GC
 * to trace); the heap holds node numbers and every node knows its heap
 * position, so sifting never touches the table.
 */
import { checkDeadline, checkNow, checkTimerId } from './arguments';
import { IdTable } from './id-table';
import type { TimerQueue, TimerQueueImplementation } from './types';

const INITIAL_CAPACITY = 16;

export class TsTimerQueue implements TimerQueue {
  private deadlines = new Float64Array(INITIAL_CAPACITY);
  /** Scheduling sequence: breaks deadline ties in scheduling order. */
  private sequences = new Float64Array(INITIAL_CAPACITY);
  private ids = new Uint32Array(INITIAL_CAPACITY);
  /** Heap position of a live node; for a free node, the next free node (-1 ends the list). */
  private positions = new Int32Array(INITIAL_CAPACITY);
  /** Node numbers in heap order. */
  private heap = new Int32Array(INITIAL_CAPACITY);
  private readonly nodeOf = new IdTable();
  private count = 0;
  /** Nodes ever handed out; those below it and not live are on the free list. */
  private used = 0;
  private freeHead = -1;
  private nextSequence = 0;

  get size(): number {
    return this.count;
  }

  schedule(id: number, deadline: number): void {
    checkTimerId(id);
    checkDeadline(deadline);
    const existing = this.nodeOf.get(id);
    if (existing < 0) {
      const node = this.allocate();
      this.deadlines[node] = deadline;
      this.sequences[node] = this.nextSequence++;
      this.ids[node] = id;
      this.nodeOf.insert(id, node);
      this.heap[this.count] = node;
      this.siftUp(this.count++);
      return;
    }
    // A reschedule takes a fresh sequence number, so its key only grows
    // unless the deadline moved earlier.
    const earlier = deadline < this.deadlines[existing];
    this.deadlines[existing] = deadline;
    this.sequences[existing] = this.nextSequence++;
    if (earlier) this.siftUp(this.positions[existing]);
    else this.siftDown(this.positions[existing]);
  }

  cancel(id: number): boolean {
    checkTimerId(id);
    const node = this.nodeOf.delete(id);
    if (node < 0) return false;
    this.removeAt(this.positions[node]);
    return true;
  }

  has(id: number): boolean {
    checkTimerId(id);
    return this.nodeOf.get(id) >= 0;
  }

  nextDeadline(): number {
    return this.count === 0 ? Infinity : this.deadlines[this.heap[0]];
  }

  expire(now: number): number[] {
    checkNow(now);
    const due: number[] = [];
    while (this.count > 0) {
      const top = this.heap[0];
      if (this.deadlines[top] > now) break;
      const id = this.ids[top];
      due.push(id);
      this.nodeOf.delete(id);
      this.removeAt(0);
    }
    return due;
  }

  clear(): void {
    this.nodeOf.clear();
    this.count = 0;
    this.used = 0;
    this.freeHead = -1;
    this.nextSequence = 0;
    if (this.heap.length !== INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
  }

  /** Orders node a before node b: earlier deadline, then earlier scheduling. */
  private before(a: number, b: number): boolean {
    const da = this.deadlines[a];
    const db = this.deadlines[b];
    return da < db || (da === db && this.sequences[a] < this.sequences[b]);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    const node = heap[start];
    let pos = start;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = heap[parentPos];
      if (!this.before(node, parent)) break;
      heap[pos] = parent;
      this.positions[parent] = pos;
      pos = parentPos;
    }
    heap[pos] = node;
    this.positions[node] = pos;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const count = this.count;
    const node = heap[start];
    const firstLeaf = count >> 1;
    let pos = start;
    while (pos < firstLeaf) {
      let childPos = 2 * pos + 1;
      let child = heap[childPos];
      const rightPos = childPos + 1;
      if (rightPos < count && this.before(heap[rightPos], child)) {
        childPos = rightPos;
        child = heap[rightPos];
      }
      if (!this.before(child, node)) break;
      heap[pos] = child;
      this.positions[child] = pos;
      pos = childPos;
    }
    heap[pos] = node;
    this.positions[node] = pos;
  }

  /** Removes the node at heap position `pos` (its id is already out of the table). */
  private removeAt(pos: number): void {
    const node = this.heap[pos];
    this.positions[node] = this.freeHead;
    this.freeHead = node;
    const last = --this.count;
    if (pos === last) return;
    const moved = this.heap[last];
    this.heap[pos] = moved;
    if (pos > 0 && this.before(moved, this.heap[(pos - 1) >> 1])) this.siftUp(pos);
    else this.siftDown(pos);
  }

  private allocate(): number {
    if (this.freeHead >= 0) {
      const node = this.freeHead;
      this.freeHead = this.positions[node];
      return node;
    }
    if (this.used === this.heap.length) this.resize(this.heap.length * 2);
    return this.used++;
  }

  private resize(capacity: number): void {
    const keep = Math.min(this.used, capacity);
    const grow = <T extends Float64Array | Uint32Array | Int32Array>(old: T, fresh: T): T => {
      fresh.set(old.subarray(0, keep));
      return fresh;
    };
    this.deadlines = grow(this.deadlines, new Float64Array(capacity));
    this.sequences = grow(this.sequences, new Float64Array(capacity));
    this.ids = grow(this.ids, new Uint32Array(capacity));
    this.positions = grow(this.positions, new Int32Array(capacity));
    this.heap = grow(this.heap, new Int32Array(capacity));
  }
}

/** The TypeScript implementation. */
export const tsTimers: TimerQueueImplementation = {
  name: 'ts',
  create: () => new TsTimerQueue(),
};
