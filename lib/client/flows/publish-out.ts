/**
 * The client's PUBLISH: QoS -1 and 0 fire and forget; QoS 1 ends with
 * PUBACK, QoS 2 with PUBREC / PUBREL / PUBCOMP. "Invalid topic id" on a
 * registered name registers it again; "congestion" waits and retries.
 */
import { errorForReturnCode } from '../../errors';
import type { PacketOf, Publish } from '../../codec/packets';
import type { TopicIdTypeArg } from '../types';
import type { Reject, Resolve, SessionCore } from './core';
import type { Operation } from './operation';
import { register } from './register';

export interface PublishParams {
  topicId: number | string;
  topicIdType: TopicIdTypeArg;
  qos: -1 | 0 | 1 | 2;
  payload: Buffer;
  retain: boolean;
  dup: boolean;
  /** Type 0 by name: `topicId` is the name's id in this session, taken as it is (no failover renaming). */
  topicName?: string;
}

export function publish(core: SessionCore, params: PublishParams, resolve: Resolve, reject: Reject): void {
  const packet: Publish = {
    type: 'PUBLISH',
    dup: params.dup,
    qos: params.qos,
    retain: params.retain,
    topicIdType: params.topicIdType,
    topicId: params.topicIdType === 0 && params.topicName === undefined ? core.topics.current(params.topicId as number) : params.topicId,
    msgId: 0,
    payload: params.payload,
  };
  if (params.qos === -1) {
    // Connectionless: goes to the configured gateway whatever the state.
    core.sendOrReject(packet, resolve, reject);
    return;
  }
  if (!core.requireActive(reject)) return;
  if (params.qos === 0) {
    core.sendOrReject(packet, resolve, reject);
    return;
  }
  const op = core.newOp('publish', resolve, reject);
  op.packet = packet;
  if (params.topicIdType === 0) op.topicName = params.topicName ?? core.topics.nameOf(packet.topicId, 0);
  core.admit(op, core.publishWindow);
}

export function onPuback(core: SessionCore, p: PacketOf<'PUBACK'>): void {
  const op = core.ops.forMsgId(p.msgId, 'publish');
  if (!op) {
    if (p.returnCode !== 0) {
      // A QoS 0 publish the gateway rejected: nobody waits for it, so it is an error event.
      const error = errorForReturnCode(p.returnCode, 'PUBLISH');
      core.emitError(error.code, error.description);
    }
    return;
  }
  if (p.returnCode === 0) {
    const packet = op.packet as Publish;
    if (packet.qos === 2) return; // a QoS 2 flow ends with PUBCOMP, not PUBACK
    core.endOp(op);
    op.resolve(undefined);
    return;
  }
  if (p.returnCode === 1) {
    core.pauseForCongestion(op, 'PUBLISH');
    return;
  }
  if (p.returnCode === 2 && (op.packet as Publish).topicIdType === 0 && op.topicName !== undefined) {
    reregisterAndRetry(core, op);
    return;
  }
  core.endOp(op);
  op.reject(errorForReturnCode(p.returnCode, 'PUBLISH'));
}

export function onPubrec(core: SessionCore, p: PacketOf<'PUBREC'>): void {
  const op = core.ops.forMsgId(p.msgId, 'publish');
  if (op) {
    op.released = true;
    op.attempts = 0;
    core.resend(op, { type: 'PUBREL', msgId: p.msgId });
  } else {
    core.trySend({ type: 'PUBREL', msgId: p.msgId });
  }
}

export function onPubcomp(core: SessionCore, p: PacketOf<'PUBCOMP'>): void {
  const op = core.ops.forMsgId(p.msgId, 'publish');
  if (!op || !op.released) return;
  core.endOp(op);
  op.resolve(undefined);
}

/** PUBACK "invalid topic id" for a name the client knows: REGISTER it again, then publish with the new id. */
function reregisterAndRetry(core: SessionCore, op: Operation): void {
  const name = op.topicName as string;
  const packet = op.packet as Publish;
  const oldId = packet.topicId as number;
  core.timers.cancel(op.timerId);
  core.topics.delete(oldId);
  core.sink.log(1, 'Packet', `Topic id ${oldId} unknown to the gateway: registering "${name}" again.`);
  register(
    core,
    name,
    (newId) => {
      if (!core.ops.has(op)) return;
      core.topics.rename(oldId, newId);
      packet.topicId = newId;
      op.attempts = 0;
      core.resend(op, { ...packet, dup: false });
    },
    (error) => {
      if (!core.ops.has(op)) return;
      core.endOp(op);
      op.reject(error);
    },
    true,
  );
}
