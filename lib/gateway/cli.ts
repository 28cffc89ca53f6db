#!/usr/bin/env node
/**
 * mqtt-sn-gateway: runs an MQTT-SN gateway from the command line.
 * Options on the command line override those of --config FILE.
 */
import * as fs from 'node:fs';
import { applyDtlsFlags, DTLS_SWITCHES, DTLS_USAGE, isDtlsFlag } from './cli-dtls';
import { MqttSnGateway, type GatewayLogEntry } from './gateway';
import { startMetricsServer, type MetricsServer } from './metrics';
import { startGatewayWorkers, workersRefusal } from './workers';
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
  --session-store FILE  aggregating mode: keep the sessions of clients with clean
                        session off (sleeping ones and their messages included) in
                        FILE, so that they outlive a restart
  --advertise SECONDS   send ADVERTISE every SECONDS (broadcast to 255.255.255.255)
  --advertise-address A ADVERTISE destination address (broadcast or multicast)
  --advertise-port N    ADVERTISE destination port (default: the gateway's port)
  --gateway-id N        gateway id in ADVERTISE and GWINFO (default 1)
  --config FILE         JSON file with any of the gateway options (see docs/gateway.md)
  --takeover POLICY     who may take over a live session by its client id:
                        same-address (default), allow or refuse-while-alive
  --wake-move MOVE      where a sleeper's buffer may go when it wakes from another
                        address: none (default), same-host or any
  --sessions-per-source N   sessions one IP address may hold (default 1000)
  --new-sessions-per-source N  new sessions a second from one IP address (default 50)
  --new-sessions-total N    new sessions a second in all (default 1000)
  --max-idle SECONDS    silence allowed to a session with keep-alive 0 (default 3600)
  --search-per-source N SEARCHGW answers a second to one IP address (default 1)
  --max-clients N       sessions in all (default 10000)
  --session-bytes N     octets one session may hold: queued messages, topic names,
                        subscription filters (default 1048576)
  --total-bytes N       octets all sessions together may hold (default 268435456)
  --will-update-interval MS  at most one broker reconnect per client for will updates
                        in this many ms (default 1000)
  --topic-max-levels N  most levels in a client's topic (default 100)
  --topic-max-length N  most UTF-8 octets in a client's topic (default 1024)
  --allow-dollar-topics true|false  clients may use topics starting with $ (default false)
  --log-level LEVEL     error, warn, info (default) or debug
  --log-format FORMAT   text (default) or json (one JSON object per line)
  --metrics-port N      serve Prometheus /metrics and /health over HTTP on N
  --metrics-host ADDR   address for the metrics server (default 127.0.0.1)
  --stats-topic PREFIX  publish the gateway's figures to the broker under PREFIX
                        (default prefix with --stats-interval: mqtt-sn-gateway/<id>)
  --stats-interval S    seconds between two publications of the figures (default 60)
  --workers N           run N gateway processes sharing the UDP port (default 1);
                        above 1 needs the native addon (SO_REUSEPORT): the kernel
                        keeps each client on one worker, the first answers discovery,
                        logs and /metrics are merged here
  --help                show this help

${DTLS_USAGE}
Signals: SIGINT and SIGTERM stop the gateway; SIGHUP reloads the pre-defined
topics, limits, retry and log level from --config and --predefined, and the
DTLS keys and client ids from --psk-file and --client-ids, keeping every session.
`;

export type LogFormat = 'text' | 'json';

class UsageError extends Error {}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Flags that set a number among `limits`. */
const LIMIT_FLAGS: Record<string, keyof NonNullable<GatewayOptions['limits']>> = {
  '--sessions-per-source': 'sessionsPerSource',
  '--new-sessions-per-source': 'newSessionsPerSource',
  '--new-sessions-total': 'newSessionsTotal',
  '--max-idle': 'maxIdle',
  '--search-per-source': 'searchPerSource',
  '--max-clients': 'clients',
  '--session-bytes': 'sessionBytes',
  '--total-bytes': 'totalBytes',
};

/** Flags that set a number among `topics`. */
const TOPIC_FLAGS: Record<string, 'maxLevels' | 'maxLength'> = {
  '--topic-max-levels': 'maxLevels',
  '--topic-max-length': 'maxLength',
};

function toNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number, got "${value}"`);
  return n;
}

function toInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} needs an integer, got "${value}"`);
  return n;
}

/** The --log-format of argv (text unless it says json). */
export function logFormatOf(argv: readonly string[]): LogFormat {
  const at = argv.findIndex((arg) => arg === '--log-format' || arg.startsWith('--log-format='));
  if (at < 0) return 'text';
  const value = argv[at].includes('=') ? argv[at].slice(argv[at].indexOf('=') + 1) : argv[at + 1];
  if (value !== 'text' && value !== 'json') throw new UsageError(`--log-format must be text or json, not "${value}"`);
  return value;
}

/** The --workers of argv (1 unless given). */
export function workersOf(argv: readonly string[]): number {
  const at = argv.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  if (at < 0) return 1;
  const value = argv[at].includes('=') ? argv[at].slice(argv[at].indexOf('=') + 1) : argv[at + 1];
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers needs an integer from 1 to 64, got "${value}"`);
  return n;
}

/** One log line: `time level message`, or one JSON object with the entry's context. */
export function formatLogLine(entry: GatewayLogEntry, format: LogFormat, time = new Date()): string {
  if (format === 'json') {
    const { level, message, ...context } = entry;
    return `${JSON.stringify({ time: time.toISOString(), level, msg: message, ...context })}\n`;
  }
  return `${time.toISOString()} ${entry.level.padEnd(5)} ${entry.message}\n`;
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
    const value = eq > 0 ? arg.slice(eq + 1) : DTLS_SWITCHES.has(name) ? 'true' : argv[++i];
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
      case '--takeover':
        options.takeover = value as GatewayOptions['takeover'];
        break;
      case '--wake-move':
        options.wakeMove = value as GatewayOptions['wakeMove'];
        break;
      case '--will-update-interval':
        options.willUpdateInterval = toInteger(value, flag);
        break;
      case '--session-store':
        options.sessionStore = value;
        break;
      case '--allow-dollar-topics':
        if (value !== 'true' && value !== 'false') throw new UsageError(`${flag} needs true or false, got "${value}"`);
        options.topics = { ...options.topics, allowDollar: value === 'true' };
        break;
      case '--metrics-port':
        options.metrics = { ...options.metrics, port: toInteger(value, flag) };
        break;
      case '--advertise':
      case '--advertise-address':
      case '--advertise-port':
      case '--log-format':
      case '--workers':
      case '--metrics-host':
      case '--stats-topic':
      case '--stats-interval':
        break;
      default:
        if (flag in LIMIT_FLAGS) options.limits = { ...options.limits, [LIMIT_FLAGS[flag]]: toNumber(value, flag) };
        else if (flag in TOPIC_FLAGS) options.topics = { ...options.topics, [TOPIC_FLAGS[flag]]: toNumber(value, flag) };
        else if (!isDtlsFlag(flag)) throw new UsageError(`unknown option ${flag}`);
    }
  }
  const metricsHost = flags.get('--metrics-host');
  if (metricsHost !== undefined) {
    if (!options.metrics) throw new UsageError('--metrics-host needs --metrics-port');
    options.metrics.host = metricsHost;
  }
  const statsTopic = flags.get('--stats-topic');
  const statsInterval = flags.get('--stats-interval');
  if (statsTopic !== undefined || statsInterval !== undefined) {
    options.statsTopics = {
      ...options.statsTopics,
      interval: statsInterval !== undefined ? toInteger(statsInterval, '--stats-interval') : (options.statsTopics?.interval ?? 60),
      ...(statsTopic !== undefined ? { prefix: statsTopic } : {}),
    };
  }
  applyDtlsFlags(options, flags);
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
  const argv = process.argv.slice(2);
  let options: GatewayOptions | undefined;
  let format: LogFormat;
  let workers: number;
  try {
    format = logFormatOf(argv);
    workers = workersOf(argv);
    options = parseArguments(argv);
  } catch (error) {
    process.stderr.write(`mqtt-sn-gateway: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return;
  }
  if (workers > 1) {
    await runWorkers(options, workers, format, argv);
    return;
  }
  const gateway = new MqttSnGateway(options);
  const write = (entry: GatewayLogEntry): void => {
    const line = formatLogLine(entry, format);
    if (entry.level === 'error' || entry.level === 'warn') process.stderr.write(line);
    else process.stdout.write(line);
  };
  gateway.on('log', write);
  gateway.on('error', () => undefined); // already logged
  onSignals(argv, write, () => gateway.stop(), (next) => gateway.reload(next));
  try {
    await gateway.start();
  } catch (error) {
    process.stderr.write(`mqtt-sn-gateway: ${(error as Error).message}\n`);
    process.exitCode = 1;
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGHUP');
  }
}

/** `--workers N`: this process hosts the embedded broker (if any), the merged logs and /metrics. */
async function runWorkers(options: GatewayOptions, count: number, format: LogFormat, argv: readonly string[]): Promise<void> {
  const refusal = workersRefusal(count);
  if (refusal) {
    process.stderr.write(`mqtt-sn-gateway: ${refusal}\n`);
    process.exitCode = 2;
    return;
  }
  const write = (entry: GatewayLogEntry & { worker?: number }): void => {
    const { worker, ...rest } = entry;
    const line = formatLogLine(worker === undefined ? rest : { ...rest, message: `[worker ${worker}] ${rest.message}` }, format);
    if (entry.level === 'error' || entry.level === 'warn') process.stderr.write(line);
    else process.stdout.write(line);
  };
  let group: Awaited<ReturnType<typeof startGatewayWorkers>>;
  let metrics: MetricsServer | undefined;
  try {
    group = await startGatewayWorkers(options, count, write);
    if (options.metrics) {
      metrics = await startMetricsServer(group, options.metrics.port, options.metrics.host);
      write({ level: 'info', message: `metrics of all workers on ${metrics.url}/metrics, health on ${metrics.url}/health` });
    }
  } catch (error) {
    process.stderr.write(`mqtt-sn-gateway: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  onSignals(argv, write, async () => {
    await Promise.all([metrics?.close(), group.stop()]);
  }, (next) => group.reload(next));
}

/** SIGINT and SIGTERM stop (once); SIGHUP reloads what --config and --predefined name, read again. */
function onSignals(argv: readonly string[], write: (entry: GatewayLogEntry) => void, stop: () => Promise<void>, reload: (options: GatewayOptions) => void): void {
  let stopping = false;
  const stopOnce = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    write({ level: 'info', message: `${signal}: stopping` });
    stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: Error) => {
        process.stderr.write(`mqtt-sn-gateway: ${error.message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stopOnce('SIGINT'));
  process.on('SIGTERM', () => stopOnce('SIGTERM'));
  process.on('SIGHUP', () => {
    try {
      reload(parseArguments(argv) ?? {});
    } catch (error) {
      write({ level: 'error', message: `SIGHUP: configuration not reloaded: ${(error as Error).message}` });
    }
  });
}

if (require.main === module) void main();
