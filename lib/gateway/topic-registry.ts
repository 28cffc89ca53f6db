/**
 * One client's topic ids (v1.2 §7.3): the normal ids registered during this
 * connection, in both directions, and the pre-defined ids configured for it.
 */
import { MAX_TOPIC_ID, MIN_TOPIC_ID } from '../topic-ids';
import type { PredefinedTopics } from './options';

/**
 * Pre-defined ids both ways, never changed once built: one is shared by every
 * session with the same table (a gateway holds thousands).
 */
export class PredefinedIndex {
  readonly byId = new Map<number, string>();
  readonly byName = new Map<string, number>();

  constructor(predefined: PredefinedTopics) {
    for (const [id, name] of Object.entries(predefined)) {
      this.byId.set(Number(id), name);
      this.byName.set(name, Number(id));
    }
  }
}

export class TopicRegistry {
  private readonly idByName = new Map<string, number>();
  private readonly nameById = new Map<number, string>();
  private nextId = 1;

  constructor(
    private predefined: PredefinedIndex,
    private readonly limit: number,
  ) {}

  /** Replaces the pre-defined ids (a configuration reload); normal ids stay. */
  setPredefined(predefined: PredefinedIndex): void {
    this.predefined = predefined;
  }

  /** Octets of the normal topic names held (the memory limits count them). */
  bytes = 0;

  get size(): number {
    return this.nameById.size;
  }

  /** The normal id of `name`, registering it when new; undefined when the limit is reached. */
  register(name: string): number | undefined {
    const known = this.idByName.get(name);
    if (known !== undefined) return known;
    if (this.nameById.size >= this.limit) return undefined;
    while (this.nameById.has(this.nextId)) this.nextId = this.nextId >= MAX_TOPIC_ID ? MIN_TOPIC_ID : this.nextId + 1;
    const id = this.nextId;
    this.nextId = id >= MAX_TOPIC_ID ? MIN_TOPIC_ID : id + 1;
    this.idByName.set(name, id);
    this.nameById.set(id, name);
    this.bytes += name.length;
    return id;
  }

  /** Forgets a normal id (a client rejected its REGISTER). */
  remove(id: number): void {
    const name = this.nameById.get(id);
    if (name === undefined) return;
    this.nameById.delete(id);
    this.bytes -= name.length;
    this.idByName.delete(name);
  }

  /** Forgets every normal id (a new connection starts a new table). */
  clearNormal(): void {
    this.idByName.clear();
    this.nameById.clear();
    this.bytes = 0;
    this.nextId = 1;
  }

  nameOf(id: number): string | undefined {
    return this.nameById.get(id);
  }

  idOf(name: string): number | undefined {
    return this.idByName.get(name);
  }

  predefinedName(id: number): string | undefined {
    return this.predefined.byId.get(id);
  }

  predefinedId(name: string): number | undefined {
    return this.predefined.byName.get(name);
  }
}
