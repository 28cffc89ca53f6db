/** SUBSCRIBE and UNSUBSCRIBE (one of them outstanding at a time) and their acknowledgements. */
import { hasWildcard } from '../../topics';
import type { PacketOf } from '../../codec/packets';
import { TopicTable, type Subscription } from '../topics';
import type { SubscribeResult, TopicIdTypeArg, TopicRef } from '../types';
import type { Reject, Resolve, SessionCore } from './core';

export function subscribe(
  core: SessionCore,
  topic: TopicRef,
  topicIdType: TopicIdTypeArg,
  qos: 0 | 1 | 2,
  resolve: Resolve<SubscribeResult>,
  reject: Reject,
  internal = false,
): void {
  if (!core.requireActive(reject)) return;
  const op = core.newOp('subscribe', resolve, reject);
  op.internal = internal;
  op.packet = { type: 'SUBSCRIBE', dup: core.settings.subscribeDup, qos, topicIdType, msgId: 0, topicId: topic };
  core.admit(op, core.subscribeWindow);
}

export function unsubscribe(core: SessionCore, topic: TopicRef, topicIdType: TopicIdTypeArg, resolve: Resolve, reject: Reject): void {
  if (!core.requireActive(reject)) return;
  const op = core.newOp('unsubscribe', resolve, reject);
  op.packet = { type: 'UNSUBSCRIBE', topicIdType, msgId: 0, topicId: topic };
  core.admit(op, core.subscribeWindow);
}

export function onSuback(core: SessionCore, p: PacketOf<'SUBACK'>): void {
  const op = core.ops.forMsgId(p.msgId, 'subscribe');
  if (!op || !core.settleByReturnCode(op, p.returnCode, 'SUBSCRIBE')) return;
  const packet = op.packet as PacketOf<'SUBSCRIBE'>;
  const topicIdType = packet.topicIdType as TopicIdTypeArg;
  if (topicIdType === 0) {
    const name = String(packet.topicId);
    core.settings.subscribedTopicId = p.topicId;
    if (p.topicId !== 0 && !hasWildcard(name)) core.topics.set(p.topicId, name, false);
  }
  const subscription: Subscription = { topic: packet.topicId, topicIdType, qos: packet.qos, topicId: topicIdType === 0 ? p.topicId : 0 };
  core.topics.subscriptions.set(TopicTable.subscriptionKey(packet.topicId, topicIdType), subscription);
  op.resolve({ topicId: p.topicId, qos: p.qos });
}

export function onUnsuback(core: SessionCore, p: PacketOf<'UNSUBACK'>): void {
  const op = core.ops.forMsgId(p.msgId, 'unsubscribe');
  if (!op) return;
  core.endOp(op);
  const packet = op.packet as PacketOf<'UNSUBSCRIBE'>;
  core.topics.subscriptions.delete(TopicTable.subscriptionKey(packet.topicId, packet.topicIdType as TopicIdTypeArg));
  op.resolve(undefined);
}
