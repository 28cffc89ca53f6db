/**
 * A hash table from uint32 timer id to node number, in typed arrays: linear
 * probing with backward-shift deletion (no tombstones), load factor at most
 * one half. Faster than a Map for this one job, and ids above 2^30 (which a
 * Map stores as heap numbers) cost the same as small ones.
 */
const EMPTY = -1;
const MIN_CAPACITY = 16;
/** 2^32 / golden ratio: Fibonacci hashing spreads sequential ids evenly. */
const GOLDEN = 0x9e3779b1;

export class IdTable {
  private keys = new Uint32Array(MIN_CAPACITY);
  private nodes = new Int32Array(MIN_CAPACITY).fill(EMPTY);
  private mask = MIN_CAPACITY - 1;
  /** 32 - log2(capacity): the hash keeps the top bits of the product. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  private count = 0;

  /** The node of `id`, or -1. */
  get(id: number): number {
    const keys = this.keys;
    const nodes = this.nodes;
    for (let i = Math.imul(id, GOLDEN) >>> this.shift; ; i = (i + 1) & this.mask) {
      const node = nodes[i];
      if (node === EMPTY || keys[i] === id) return node;
    }
  }

  /** Adds an id known to be absent. */
  insert(id: number, node: number): void {
    if ((this.count + 1) * 2 > this.nodes.length) this.rehash(this.nodes.length * 2);
    this.place(id, node);
    this.count++;
  }

  /** Removes `id`; returns its node, or -1 if it was absent. */
  delete(id: number): number {
    const keys = this.keys;
    const nodes = this.nodes;
    const mask = this.mask;
    let i = Math.imul(id, GOLDEN) >>> this.shift;
    for (; ; i = (i + 1) & mask) {
      if (nodes[i] === EMPTY) return EMPTY;
      if (keys[i] === id) break;
    }
    const node = nodes[i];
    // Move later members of the probe run back so no lookup meets a hole.
    let hole = i;
    for (let j = (i + 1) & mask; nodes[j] !== EMPTY; j = (j + 1) & mask) {
      const home = Math.imul(keys[j], GOLDEN) >>> this.shift;
      // keys[j] stays unless its home slot lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        keys[hole] = keys[j];
        nodes[hole] = nodes[j];
        hole = j;
      }
    }
    nodes[hole] = EMPTY;
    this.count--;
    return node;
  }

  clear(): void {
    if (this.nodes.length === MIN_CAPACITY) this.nodes.fill(EMPTY);
    else this.rehash(MIN_CAPACITY, true);
    this.count = 0;
  }

  private place(id: number, node: number): void {
    let i = Math.imul(id, GOLDEN) >>> this.shift;
    while (this.nodes[i] !== EMPTY) i = (i + 1) & this.mask;
    this.keys[i] = id;
    this.nodes[i] = node;
  }

  private rehash(capacity: number, drop = false): void {
    const oldKeys = this.keys;
    const oldNodes = this.nodes;
    this.keys = new Uint32Array(capacity);
    this.nodes = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    if (drop) return;
    for (let i = 0; i < oldNodes.length; i++) {
      if (oldNodes[i] !== EMPTY) this.place(oldKeys[i], oldNodes[i]);
    }
  }
}
