/**
 * `mqtt-sn sleep`: puts the client to sleep (msg.action "sleep", for
 * msg.duration seconds), wakes it briefly to collect what the gateway
 * buffered ("retrieve"; those messages come out of the in nodes), or wakes it
 * for good ("wake"). A "retrieve" while active does nothing but say so.
 */
import { joinConnection, type UserNode } from './broker-node';
import type { NodeAPI, NodeDef } from './red';
import { coded, fail } from './report';
import { statusOf } from './status';

export interface SleepDef extends NodeDef {
  broker: string;
  duration: number | string;
}

const MAX_DURATION = 0xffff;

export function registerSleepNode(RED: NodeAPI): void {
  function MqttSnSleepNode(this: UserNode, def: SleepDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: UserNode, def: SleepDef): void {
    const conn = joinConnection(RED, node, def.broker);
    if (!conn) return;
    const defaultDuration = Number(def.duration) || 60;

    node.on('input', (msg, send, done) => {
      let work: Promise<void>;
      switch (msg.action) {
        case 'sleep': {
          const duration = msg.duration === undefined ? defaultDuration : Number(msg.duration);
          if (!Number.isInteger(duration) || duration < 1 || duration > MAX_DURATION) {
            done(coded(RED._('mqtt-sn.errors.invalid-duration')));
            return;
          }
          work = conn.sleep(duration);
          break;
        }
        case 'retrieve':
          // Active, the client already receives its messages: nothing to collect, and no error
          // for a flow that keeps retrieving on a timer after a wake.
          if (conn.linkState === 'connected') {
            node.status(statusOf('connected', 'mqtt-sn.status.not-asleep'));
            work = Promise.resolve();
          } else {
            work = conn.retrieve();
          }
          break;
        case 'wake':
          work = conn.wake();
          break;
        default:
          done(coded(RED._('mqtt-sn.errors.invalid-sleep-action')));
          return;
      }
      work.then(
        () => {
          msg.state = conn.linkState;
          send(msg);
          done();
        },
        (err: Error) => fail(done, String(msg.action), err),
      );
    });
  }
  RED.nodes.registerType('mqtt-sn sleep', MqttSnSleepNode);
}
