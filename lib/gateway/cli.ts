#!/usr/bin/env node
/**
 * mqtt-sn-gateway: runs an MQTT-SN gateway from the command line.
 * Options on the command line override those of --config FILE.
 */
import * as fs from 'node:fs';
import { MqttSnGateway } from './gateway';
import { DEFAULT_PORT, type GatewayOptions, type LogLevel } from './options';

const USAGE = `Usage: mqtt-sn-gateway [options]

MQTT-SN v1.2 gateway: MQTT-SN clients over UDP, bridged to an MQTT broker.

Options:
  --port N              UDP port to listen on (default 1884, 0 = any free port)
  --host ADDR           UDP address to listen on, IPv4 or IPv6 (default 0.0.0.0)
  --broker URL          MQTT broker, e.g. mqtt://127.0.0.1:1883
                        (default: an embedded broker on 127.0.0.1)
  --broker-port N       TCP port of the embedded broker (default: any free port)
  --mode MODE           transparent (one broker connection per client, default)
                        or aggregating (one shared connection)
  --predefined FILE     JSON object {"<topic id>": "<topic name>"} for all clients
  --advertise SECONDS   send ADVERTISE every SECONDS (broadcast to 255.255.255.255)
  --advertise-address A ADVERTISE destination address (broadcast or multicast)
  --advertise-port N    ADVERTISE destination port (default: the gateway's port)
  --gateway-id N        gateway id in ADVERTISE and GWINFO (default 1)
  --config FILE         JSON file with any of the gateway options (see docs/gateway.md)
  --log-level LEVEL     error, warn, info (default) or debug
  --help                show this help
`;

class UsageError extends Error {}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function toInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} needs an integer, got "${value}"`);
  return n;
}

/** Parses argv into gateway options; undefined when --help was asked for. */
export function parseArguments(argv: readonly string[]): GatewayOptions | undefined {
  let options: GatewayOptions = {};
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return undefined;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    flags.set(name, value);
  }
  const config = flags.get('--config');
  if (config !== undefined) {
    const loaded = readJson(config);
    if (loaded === null || typeof loaded !== 'object' || Array.isArray(loaded)) throw new UsageError(`${config} must hold a JSON object`);
    options = loaded as GatewayOptions;
  }
  for (const [flag, value] of flags) {
    switch (flag) {
      case '--config':
        break;
      case '--port':
        options.port = toInteger(value, flag);
        break;
      case '--host':
        options.host = value;
        break;
      case '--broker':
        options.broker = value;
        break;
      case '--broker-port':
        options.embeddedBrokerPort = toInteger(value, flag);
        break;
      case '--mode':
        options.mode = value as GatewayOptions['mode'];
        break;
      case '--predefined':
        options.predefined = readJson(value) as Record<string, string>;
        break;
      case '--gateway-id':
        options.gatewayId = toInteger(value, flag);
        break;
      case '--log-level':
        options.logLevel = value as LogLevel;
        break;
      case '--advertise':
      case '--advertise-address':
      case '--advertise-port':
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  const interval = flags.get('--advertise');
  if (interval !== undefined) {
    const address = flags.get('--advertise-address') ?? options.advertise?.address ?? '255.255.255.255';
    const portFlag = flags.get('--advertise-port');
    const port = portFlag !== undefined ? toInteger(portFlag, '--advertise-port') : (options.advertise?.port ?? options.port ?? DEFAULT_PORT);
    options.advertise = { interval: toInteger(interval, '--advertise'), address, port: port === 0 ? DEFAULT_PORT : port };
  }
  return options;
}

async function main(): Promise<void> {
  let options: GatewayOptions | undefined;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`mqtt-sn-gateway: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return;
  }
  const gateway = new MqttSnGateway(options);
  gateway.on('log', ({ level, message }: { level: LogLevel; message: string }) => {
    const line = `${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`;
    if (level === 'error' || level === 'warn') process.stderr.write(line);
    else process.stdout.write(line);
  });
  gateway.on('error', () => undefined); // already logged
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} info  ${signal}: stopping\n`);
    gateway.stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: Error) => {
        process.stderr.write(`mqtt-sn-gateway: ${error.message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await gateway.start();
  } catch (error) {
    process.stderr.write(`mqtt-sn-gateway: ${(error as Error).message}\n`);
    process.exitCode = 1;
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
  }
}

if (require.main === module) void main();
