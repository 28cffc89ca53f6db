/**
 * Topic registration both ways: the client's REGISTER (one outstanding at a
 * time) and its REGACK; the gateway's REGISTER, reported as `topicInfo` and
 * answered with the return code a listener chose.
 */
import { hasWildcard } from '../../topics';
import type { PacketOf } from '../../codec/packets';
import { validReturnCode, type Reject, type Resolve, type SessionCore } from './core';

export function register(core: SessionCore, topicName: string, resolve: Resolve<number>, reject: Reject, internal = false): void {
  if (!core.requireActive(reject)) return;
  const op = core.newOp('register', resolve, reject);
  op.topicName = topicName;
  op.internal = internal;
  core.admit(op, core.registerWindow);
}

export function onRegack(core: SessionCore, p: PacketOf<'REGACK'>): void {
  const op = core.ops.forMsgId(p.msgId, 'register');
  if (!op || !core.settleByReturnCode(op, p.returnCode, 'REGISTER')) return;
  core.topics.set(p.topicId, op.topicName as string, true);
  op.resolve(p.topicId);
}

/** REGACK return code "rejected: not supported". */
const NOT_SUPPORTED = 3;

/** The gateway names a topic id (a wildcard match, a restored session). */
export function onRegister(core: SessionCore, p: PacketOf<'REGISTER'>): void {
  if (hasWildcard(p.topicName)) {
    // A REGISTER names one topic; a filter cannot be published to or matched
    // against, so it is refused before any listener sees it and never stored.
    core.sink.log(1, 'Packet', `Rejected the gateway's REGISTER of topic id ${p.topicId} for "${p.topicName}": a topic name has no wildcards.`);
    core.trySend({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: NOT_SUPPORTED });
    return;
  }
  const event = { topicId: p.topicId, topicName: p.topicName, returnCode: 0 };
  core.sink.emit('topicInfo', event);
  const returnCode = validReturnCode(event.returnCode);
  if (returnCode === 0) core.topics.set(p.topicId, p.topicName, false);
  core.trySend({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode });
}
