/** Will updates while connected: WILLTOPICUPD / WILLMSGUPD and their responses. */
import { errorForReturnCode } from '../../errors';
import type { PacketOf } from '../../codec/packets';
import type { Reject, Resolve, SessionCore } from './core';

export interface WillTopicUpdate {
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** An empty topic deletes the will (topic and message). */
export function updateWillTopic(core: SessionCore, will: WillTopicUpdate, resolve: Resolve, reject: Reject): void {
  if (!core.requireActive(reject)) return;
  const op = core.newOp('willTopic', resolve, reject);
  op.packet = { type: 'WILLTOPICUPD', qos: will.qos, retain: will.retain, willTopic: will.topic };
  if (core.params) {
    core.params.will = will.topic === '' ? undefined : { ...will, message: core.params.will?.message ?? Buffer.alloc(0) };
  }
  core.admit(op, core.willTopicWindow);
}

export function updateWillMessage(core: SessionCore, message: Buffer, resolve: Resolve, reject: Reject): void {
  if (!core.requireActive(reject)) return;
  const op = core.newOp('willMsg', resolve, reject);
  op.packet = { type: 'WILLMSGUPD', willMsg: message };
  if (core.params?.will) core.params.will.message = message;
  core.admit(op, core.willMsgWindow);
}

export function onWillTopicResp(core: SessionCore, p: PacketOf<'WILLTOPICRESP'>): void {
  settle(core, 'willTopic', p.returnCode, 'WILLTOPICUPD');
}

export function onWillMsgResp(core: SessionCore, p: PacketOf<'WILLMSGRESP'>): void {
  settle(core, 'willMsg', p.returnCode, 'WILLMSGUPD');
}

function settle(core: SessionCore, kind: 'willTopic' | 'willMsg', returnCode: number, what: string): void {
  const op = core.ops.find(kind);
  if (!op) return;
  core.endOp(op);
  if (returnCode === 0) op.resolve(undefined);
  else op.reject(errorForReturnCode(returnCode, what));
}
