/**
 * After the gateway was lost and the layer above pointed the sink at another
 * one: a new session there, restored to where the old one was.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import type { Reject, Resolve, SessionCore } from './core';
import { connect } from './connect';
import { restore } from './restore';

export function reconnect(core: SessionCore, resolve: Resolve, reject: Reject): void {
  if (!core.params) {
    reject(new MqttSnError(ErrorCode.WRONG_STATE, 'Nothing to reconnect.'));
    return;
  }
  const wantedClean = core.params.cleanSession;
  const params = { ...core.params, cleanSession: true };
  const ownNames = core.topics.forgetForNewGateway();
  const subscriptions = [...core.topics.subscriptions.values()];
  core.topics.subscriptions.clear();
  core.state = 'disconnected';
  connect(
    core,
    params,
    () => {
      core.params = { ...params, cleanSession: wantedClean };
      void restore(core, ownNames, subscriptions).then(resolve, reject);
    },
    reject,
    false,
  );
}
