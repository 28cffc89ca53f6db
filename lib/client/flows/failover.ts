/**
 * After the gateway was lost and the layer above pointed the sink at a
 * gateway (another one, or the same one restarted): a new session there,
 * restored to where the old one was. A failed attempt leaves the tables as
 * they were, so the next attempt restores the same names and subscriptions.
 */
import { ErrorCode, MqttSnError } from '../../errors';
import type { Reject, Resolve, SessionCore } from './core';
import { connect } from './connect';
import { restore } from './restore';

/** `keepSession` asks the gateway for the client's own cleanSession flag; otherwise a clean session. */
export function reconnect(core: SessionCore, keepSession: boolean, resolve: Resolve, reject: Reject): void {
  if (!core.params) {
    reject(new MqttSnError(ErrorCode.WRONG_STATE, 'Nothing to reconnect.'));
    return;
  }
  const wantedClean = core.params.cleanSession;
  const params = { ...core.params, cleanSession: keepSession ? wantedClean : true };
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
    (error) => {
      core.params = { ...params, cleanSession: wantedClean };
      core.topics.remember(ownNames, subscriptions);
      reject(error);
    },
    false,
  );
}
