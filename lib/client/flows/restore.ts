/**
 * Brings a new session up to where the old one was: the client's topic names
 * registered again, its subscriptions made again, and the operations kept
 * across a lost gateway sent again.
 */
import type { Subscription } from '../topics';
import type { SessionCore } from './core';
import type { Operation } from './operation';
import { register } from './register';
import { subscribe } from './subscribe';

export async function restore(core: SessionCore, ownNames: Map<string, number>, subscriptions: Subscription[]): Promise<void> {
  // Applied together once every answer is in: see TopicTable.renameAll.
  const renamings = new Map<number, number>();
  const registrations = [...ownNames].map(
    ([name, oldId]) =>
      new Promise<void>((resolve) => {
        register(
          core,
          name,
          (newId) => {
            renamings.set(oldId, newId);
            resolve();
          },
          () => resolve(),
          true,
        );
      }),
  );
  const resubscriptions = subscriptions.map(
    (s) =>
      new Promise<void>((resolve) => {
        const renumber = (result: { topicId: number }): void => {
          // The caller may publish with the id the old gateway's SUBACK gave.
          if (s.topicId !== 0 && result.topicId !== 0) renamings.set(s.topicId, result.topicId);
          resolve();
        };
        subscribe(core, s.topic, s.topicIdType, s.qos, renumber, () => resolve(), true);
      }),
  );
  await Promise.all([...registrations, ...resubscriptions]);
  core.topics.renameAll(renamings);
  const kept = core.suspended;
  core.suspended = [];
  for (const op of kept) resubmit(core, op);
}

/** A suspended op goes out again on the new gateway, with DUP set when it had been sent. */
function resubmit(core: SessionCore, op: Operation): void {
  if (core.state !== 'active') {
    op.reject(core.notConnected());
    return;
  }
  op.attempts = 0;
  op.released = false;
  op.msgId = 0;
  op.lastError = undefined;
  const packet = op.packet;
  if (packet?.type === 'PUBREL') {
    // PUBREC came: the old gateway took the message over, sending it again could deliver it twice.
    op.resolve(undefined);
    return;
  }
  if (packet?.type === 'PUBLISH' && packet.topicIdType === 0 && op.topicName !== undefined && core.topics.idOf(op.topicName) === undefined) {
    // Its name is not registered on this gateway (the REGISTER above failed): the old id may
    // name another topic here, so the name is registered first, or the publish fails.
    const name = op.topicName;
    register(core, name, () => resubmit(core, op), (error) => op.reject(error), true);
    return;
  }
  core.ops.add(op);
  if (packet && (packet.type === 'PUBLISH' || packet.type === 'SUBSCRIBE')) op.packet = { ...packet, dup: op.sent };
  if (op.window && !op.window.admit(op)) return;
  core.startAdmitted(op);
}
