/**
 * CONNECT and its answer, including the will exchange the gateway drives
 * (WILLTOPICREQ -> WILLTOPIC, WILLMSGREQ -> WILLMSG) and the CONNACK that
 * ends a wake-up.
 */
import { ErrorCode, MqttSnError, errorForReturnCode } from '../../errors';
import type { PacketOf } from '../../codec/packets';
import type { ConnectParams, Reject, Resolve, SessionCore } from './core';
import { SLEEP_TIMER } from './operation';
import { armKeepAlive } from './ping';
import { restore } from './restore';

/**
 * `freshTables` false keeps the topic tables as they are: a failover has
 * prepared them already and must keep the renamings of ids the user holds.
 */
export function connect(
  core: SessionCore,
  params: ConnectParams,
  resolve: Resolve,
  reject: Reject,
  freshTables = params.cleanSession,
): void {
  if (core.state !== 'disconnected') {
    reject(new MqttSnError(ErrorCode.UDP_ALREADY_ACTIVE, 'Already connected or connecting to a gateway.'));
    return;
  }
  core.params = params;
  if (freshTables) core.topics.clear();
  // The gateway may number its messages afresh on any new connection: ids seen before say
  // nothing about duplicates now. QoS 2 messages received and not released stay with a kept session.
  core.recentQos1.length = 0;
  core.releasedQos2.clear();
  if (params.cleanSession) core.inboundQos2.clear();
  core.setState('connecting');
  const op = core.newOp('connect', resolve, reject, core.settings.connectionTimeout);
  core.start(op, {
    type: 'CONNECT',
    will: params.will !== undefined,
    cleanSession: params.cleanSession,
    duration: params.keepAlive,
    clientId: params.clientId,
  });
}

/**
 * Nothing listens on the gateway's port (ICMP port unreachable, 716): a
 * CONNECT under way fails at once instead of waiting out its retransmissions.
 * False when no connect is in progress.
 */
export function onPortUnreachable(core: SessionCore, error: MqttSnError): boolean {
  const op = core.ops.find('connect');
  if (!op) return false;
  core.endOp(op);
  core.setState('disconnected');
  core.sink.emit('connected', { statusCode: error.code, description: error.description });
  op.reject(error);
  return true;
}

export function onConnack(core: SessionCore, p: PacketOf<'CONNACK'>): void {
  const op = core.ops.find('connect') ?? core.ops.find('wake');
  if (!op) {
    core.sink.log(2, 'Packet', 'Ignored a CONNACK with no connect in progress.');
    return;
  }
  core.endOp(op);
  if (p.returnCode !== 0) {
    const error = errorForReturnCode(p.returnCode, 'CONNECT');
    const refused = new MqttSnError(ErrorCode.CONNECTION_REFUSED, `Connection refused by the gateway: ${error.description}`);
    if (op.kind === 'wake') {
      op.reject(refused);
      return;
    }
    core.setState('disconnected');
    core.sink.emit('connected', { statusCode: refused.code, description: refused.description });
    op.reject(refused);
    return;
  }
  core.setState('active');
  core.timers.cancel(SLEEP_TIMER);
  armKeepAlive(core);
  if (op.kind === 'wake') {
    // Some gateways forget registered ids over a sleep: register the client's names again.
    core.sink.log(1, 'Session', 'Awake: back to the active state.');
    void restore(core, core.topics.ownEntries(), []).then(() => op.resolve(undefined), op.reject);
    return;
  }
  core.sink.emit('connected', { statusCode: 0, description: 'OK' });
  op.resolve(undefined);
}

export function onWillTopicReq(core: SessionCore): void {
  const op = core.ops.find('connect');
  if (!op) return;
  const will = core.params?.will;
  core.resend(op, will
    ? { type: 'WILLTOPIC', qos: will.qos, retain: will.retain, willTopic: will.topic }
    : { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '' });
}

export function onWillMsgReq(core: SessionCore): void {
  const op = core.ops.find('connect');
  if (!op) return;
  core.resend(op, { type: 'WILLMSG', willMsg: core.params?.will?.message ?? Buffer.alloc(0) });
}
