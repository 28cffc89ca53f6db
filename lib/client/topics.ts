/**
 * The client's side of the topic id tables: ids registered by the client,
 * ids the gateway announced (REGISTER, SUBACK), pre-defined ids from the
 * configuration, and the subscriptions to restore after a failover.
 */
import type { TopicIdTypeArg, TopicRef } from './types';

export interface Subscription {
  topic: TopicRef;
  topicIdType: TopicIdTypeArg;
  qos: 0 | 1 | 2;
  /** The id the SUBACK gave a topic name (0 otherwise): kept working after a failover. */
  topicId: number;
}

export class TopicTable {
  private readonly nameById = new Map<number, string>();
  private readonly idByName = new Map<string, number>();
  /** Names the client registered itself: registered again on a new gateway. */
  private readonly ownNames = new Set<string>();
  /** Old id -> new id after a failover re-registration, so ids the user kept still work. */
  private readonly renamed = new Map<number, number>();
  readonly subscriptions = new Map<string, Subscription>();

  constructor(private predefined: () => Map<number, string>) {}

  /** Records a normal topic id; `own` marks a REGISTER sent by the client. */
  set(topicId: number, topicName: string, own: boolean): void {
    const previous = this.idByName.get(topicName);
    if (previous !== undefined && previous !== topicId) this.nameById.delete(previous);
    const displaced = this.nameById.get(topicId);
    if (displaced !== undefined && displaced !== topicName) this.idByName.delete(displaced);
    this.nameById.set(topicId, topicName);
    this.idByName.set(topicName, topicId);
    if (own) this.ownNames.add(topicName);
  }

  delete(topicId: number): void {
    const name = this.nameById.get(topicId);
    if (name === undefined) return;
    this.nameById.delete(topicId);
    this.idByName.delete(name);
  }

  idOf(topicName: string): number | undefined {
    return this.idByName.get(topicName);
  }

  /** The name behind an id of the given type, when known. */
  nameOf(topicId: number | string, topicIdType: TopicIdTypeArg): string | undefined {
    if (topicIdType === 2) return String(topicId);
    if (typeof topicId !== 'number') return undefined;
    if (topicIdType === 1) return this.predefined().get(topicId);
    return this.nameById.get(topicId);
  }

  /** Follows a failover renaming of a normal id. */
  current(topicId: number): number {
    return this.renamed.get(topicId) ?? topicId;
  }

  /** The names the client registered itself, with their ids. */
  ownEntries(): Map<string, number> {
    const own = new Map<string, number>();
    for (const name of this.ownNames) {
      const id = this.idByName.get(name);
      if (id !== undefined) own.set(name, id);
    }
    return own;
  }

  /** Clears the normal ids (a new session on a new gateway) and returns the client's own names with their old ids. */
  forgetForNewGateway(): Map<string, number> {
    const own = this.ownEntries();
    this.nameById.clear();
    this.idByName.clear();
    this.ownNames.clear();
    return own;
  }

  /** Puts back what forgetForNewGateway() returned (an attempt on a new gateway failed). */
  remember(ownNames: Map<string, number>, subscriptions: Subscription[]): void {
    for (const [name, id] of ownNames) this.set(id, name, true);
    for (const s of subscriptions) this.subscriptions.set(TopicTable.subscriptionKey(s.topic, s.topicIdType), s);
  }

  /** Notes that `oldId` is now `newId` (after re-registration on a new gateway). */
  rename(oldId: number, newId: number): void {
    this.renameAll(new Map([[oldId, newId]]));
  }

  /**
   * Notes one new gateway's ids for the old ones, all at once: an id the old session gave one
   * name may be what the new session gave another, so the renamings must not chain into each other.
   */
  renameAll(renamings: ReadonlyMap<number, number>): void {
    for (const [from, to] of this.renamed) {
      const next = renamings.get(to);
      if (next !== undefined) this.renamed.set(from, next);
    }
    for (const [oldId, newId] of renamings) this.renamed.set(oldId, newId);
    for (const [from, to] of this.renamed) if (from === to) this.renamed.delete(from);
  }

  /** A clean session starts from nothing. */
  clear(): void {
    this.nameById.clear();
    this.idByName.clear();
    this.ownNames.clear();
    this.renamed.clear();
    this.subscriptions.clear();
  }

  static subscriptionKey(topic: TopicRef, topicIdType: TopicIdTypeArg): string {
    return `${topicIdType}:${String(topic)}`;
  }
}
