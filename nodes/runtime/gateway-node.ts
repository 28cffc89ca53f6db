/**
 * `mqtt-sn gateway`: hosts an MQTT-SN gateway inside the flow, in front of
 * an MQTT broker (or of its own embedded broker).
 */
import { MqttSnGateway, type GatewayStats } from '../../lib';
import { bounded } from './broker-node';
import type { Node, NodeAPI, NodeDef } from './red';
import { statusOf } from './status';
import { PredefinedTopics } from './topics';

export interface GatewayDef extends NodeDef {
  host: string;
  port: number | string;
  broker: string;
  mode: string;
  predefined: string;
}

const FIGURES_EVERY_MS = 5000;

/** Messages through the gateway per second, both directions. */
class MessageRate {
  private counted: number;
  private at = performance.now();
  private shown = 0;

  constructor(private readonly stats: GatewayStats) {
    this.counted = this.total();
  }

  /** Measured over the last period; a client event in between shows the last rate again. */
  perSecond(): number {
    const now = performance.now();
    if (now - this.at >= FIGURES_EVERY_MS / 2) {
      const total = this.total();
      this.shown = Math.round(((total - this.counted) * 1000) / (now - this.at));
      this.counted = total;
      this.at = now;
    }
    return this.shown;
  }

  private total(): number {
    return this.stats.publishedUpstream + this.stats.deliveredDownstream;
  }
}

export function registerGatewayNode(RED: NodeAPI): void {
  function MqttSnGatewayNode(this: Node, def: GatewayDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: GatewayDef): void {
    const fail = (err: Error) => {
      node.status(statusOf('error'));
      node.error(RED._('mqtt-sn.errors.gateway-failed', { error: err.message }));
    };
    let gateway: MqttSnGateway;
    try {
      const port = Number(def.port);
      gateway = new MqttSnGateway({
        host: (def.host ?? '').trim() || '127.0.0.1',
        port: Number.isInteger(port) ? port : 1884,
        broker: (def.broker ?? '').trim() || undefined,
        mode: def.mode === 'aggregating' ? 'aggregating' : 'transparent',
        predefined: PredefinedTopics.parse(def.predefined).toObject(),
      });
    } catch (err) {
      fail(err as Error);
      return;
    }
    node.status(statusOf('connecting', 'mqtt-sn.status.starting'));
    let figures: ReturnType<typeof setInterval> | undefined;
    const started = gateway.start().then(() => {
      const { address, port } = gateway.address();
      node.log(RED._('mqtt-sn.state.gateway-listening', { address: `${address}:${port}` }));
      // Clients at once when they come and go, messages per second every few seconds.
      const rate = new MessageRate(gateway.stats);
      const show = (): void => {
        // Two figures, short like core's status texts.
        node.status(statusOf('connected', `${gateway.clientCount} clients, ${rate.perSecond()} msg/s`));
      };
      show();
      gateway.on('clientConnected', show);
      gateway.on('clientDisconnected', show);
      gateway.on('clientLost', show);
      figures = setInterval(show, FIGURES_EVERY_MS);
    }, fail);

    node.on('close', (_removed, done) => {
      if (figures) clearInterval(figures);
      // A gateway still starting is stopped once it has started (or failed to).
      void bounded(started.then(() => gateway.stop())).then(() => {
        node.status({});
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-sn gateway', MqttSnGatewayNode);
}
