/**
 * The gateway's PUBLISH: QoS 0 delivered, QoS 1 delivered and acknowledged
 * with the return code a listener chose (duplicates acknowledged again, not
 * delivered), QoS 2 held until PUBREL and its id remembered after, so that it
 * is delivered exactly once.
 */
import type { PacketOf } from '../../codec/packets';
import { shortTopicToId } from '../../topic-ids';
import type { MessageInEvent } from '../types';
import { validReturnCode, type SessionCore } from './core';
import { countDelivered } from './sleep';

/** Inbound QoS 1 message ids remembered to drop redelivered duplicates. */
const RECENT_QOS1_LIMIT = 64;

export function onPublish(core: SessionCore, p: PacketOf<'PUBLISH'>): void {
  if (p.topicIdType === 0 && p.qos > 0 && core.topics.nameOf(p.topicId, 0) === undefined) {
    // An id this client never learnt: the gateway must register it first.
    core.trySend({ type: 'PUBACK', topicId: p.topicId as number, msgId: p.msgId, returnCode: 2 });
    core.sink.log(1, 'Packet', `Rejected a PUBLISH for unknown topic id ${String(p.topicId)}.`);
    return;
  }
  const event: MessageInEvent = {
    msgId: p.msgId,
    topicId: p.topicId,
    topicIdType: p.topicIdType,
    topicName: core.topics.nameOf(p.topicId, p.topicIdType),
    qos: p.qos,
    message: p.payload,
    retained: p.retain,
    duplicate: p.dup,
    returnCode: 0,
  };
  const rawTopicId = typeof p.topicId === 'number' ? p.topicId : shortTopicToId(p.topicId);
  if (p.qos === 2) {
    // Exactly once: hold it until PUBREL. A copy of one held or released lately only gets its
    // PUBREC again; a first transmission (no DUP) replaces whatever a former exchange left.
    const released = core.releasedQos2.has(p.msgId, core.now());
    if (!released && (!p.dup || !core.inboundQos2.has(p.msgId))) core.inboundQos2.set(p.msgId, event);
    core.trySend({ type: 'PUBREC', msgId: p.msgId });
    return;
  }
  if (p.qos === 1) {
    if (p.dup && core.recentQos1.includes(p.msgId)) {
      core.trySend({ type: 'PUBACK', topicId: rawTopicId, msgId: p.msgId, returnCode: 0 });
      return;
    }
    deliver(core, event);
    const returnCode = validReturnCode(event.returnCode);
    if (returnCode === 0) rememberQos1(core, p.msgId);
    core.trySend({ type: 'PUBACK', topicId: rawTopicId, msgId: p.msgId, returnCode });
    return;
  }
  deliver(core, event);
}

export function onPubrel(core: SessionCore, p: PacketOf<'PUBREL'>): void {
  const event = core.inboundQos2.get(p.msgId);
  core.inboundQos2.delete(p.msgId);
  core.trySend({ type: 'PUBCOMP', msgId: p.msgId });
  if (!event) return;
  core.releasedQos2.add(p.msgId, core.now());
  deliver(core, event);
}

function deliver(core: SessionCore, event: MessageInEvent): void {
  countDelivered(core);
  core.sink.emit('messageIn', event);
}

function rememberQos1(core: SessionCore, msgId: number): void {
  core.recentQos1.push(msgId);
  if (core.recentQos1.length > RECENT_QOS1_LIMIT) core.recentQos1.shift();
}
