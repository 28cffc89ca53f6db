/**
 * `mqtt-sn gateway`: hosts an MQTT-SN gateway inside the flow, in front of
 * an MQTT broker (or of its own embedded broker).
 */
import { formatEndpoint, MqttSnError, MqttSnGateway, type GatewayDtlsOptions, type GatewayLogEntry, type GatewayStats } from '../../lib';
import { bounded } from './broker-node';
import { gatewayDtlsOptions, usesTlsConfig, type GatewayCredentials, type GatewaySecurityDef } from './gateway-security';
import type { Node, NodeAPI, NodeDef } from './red';
import { coded, failureStatus } from './report';
import { statusOf } from './status';
import { tlsMaterial } from './tls-config';
import { PredefinedTopics } from './topics';

export interface GatewayNode extends Node {
  credentials?: GatewayCredentials;
}

export interface GatewayDef extends NodeDef, GatewaySecurityDef {
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

/** "udp 127.0.0.1:1884 and dtls 127.0.0.1:8883", as the command line logs it. */
function listening(gateway: MqttSnGateway, dtls: GatewayDtlsOptions | undefined): string {
  const udp = dtls?.only ? undefined : `udp ${formatEndpoint(gateway.address())}`;
  const secure = dtls ? `dtls ${formatEndpoint(gateway.dtlsAddress())}` : undefined;
  return [udp, secure].filter((part) => part !== undefined).join(' and ');
}

export function registerGatewayNode(RED: NodeAPI): void {
  function MqttSnGatewayNode(this: GatewayNode, def: GatewayDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: GatewayNode, def: GatewayDef): void {
    // At deploy, with the code (270: DTLS without the addon, 273: a bad key, ...) for a Catch node, and a word in the status.
    const fail = (err: Error) => {
      node.status(failureStatus(err));
      node.error(coded(RED._('mqtt-sn.errors.gateway-failed', { error: err instanceof MqttSnError ? `${err.description} (${err.code})` : err.message }), err));
    };
    let gateway: MqttSnGateway;
    let dtls: GatewayDtlsOptions | undefined;
    try {
      dtls = gatewayDtlsOptions(def, node.credentials, usesTlsConfig(def) ? tlsMaterial(RED, (def.tls as string).trim()) : undefined);
      const port = Number(def.port);
      gateway = new MqttSnGateway({
        host: (def.host ?? '').trim() || '127.0.0.1',
        port: Number.isInteger(port) ? port : 1884,
        broker: (def.broker ?? '').trim() || undefined,
        mode: def.mode === 'aggregating' ? 'aggregating' : 'transparent',
        predefined: PredefinedTopics.parse(def.predefined).toObject(),
        logLevel: 'warn',
        dtls,
      });
    } catch (err) {
      fail(err as Error);
      return;
    }
    // Refused clients, failed handshakes: into Node-RED's log, not the debug sidebar a retrying client would flood.
    gateway.on('log', (entry: GatewayLogEntry) => node.log(entry.message));
    node.status(statusOf('connecting', 'mqtt-sn.status.starting'));
    let figures: ReturnType<typeof setInterval> | undefined;
    const started = gateway.start().then(() => {
      node.log(RED._('mqtt-sn.state.gateway-listening', { address: listening(gateway, dtls) }));
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
  RED.nodes.registerType('mqtt-sn gateway', MqttSnGatewayNode, {
    credentials: { pskIdentities: { type: 'text' }, pskKeys: { type: 'password' } },
  });
}
