/**
 * A plain Node.js program with no reconnect code of its own: it uses the
 * built package's MqttSnClient, subscribes once, publishes a numbered QoS 1
 * message every PUBLISH_EVERY_MS and reports, one JSON line each on stdout,
 * what happened: connects, messages, and how every publish ended (acked or
 * rejected with its code). HOLD_COUNT bounds the publishes held while it reconnects. "stop" on stdin ends the publishing; once every
 * publish has settled it reports "done" and exits. The restart suite runs it
 * as a child process while it kills and restarts the gateway and the broker.
 */
import * as readline from 'node:readline';
// The built package, as an application would load it.
import { MqttSnClient, MqttSnError } from '../../lib';

const prefix = process.env.TOPIC_PREFIX as string;
const report = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const client = new MqttSnClient({
  host: '127.0.0.1',
  port: Number(process.env.GATEWAY_PORT),
  clientId: process.env.CLIENT_ID,
  keepAlive: 1,
  retry: { interval: 250, count: 2 },
  connectTimeout: 2000,
  callTimeout: 10000,
  reconnect: { minDelay: 100, maxDelay: 1000 },
  hold: { count: Number(process.env.HOLD_COUNT ?? 10000) },
});
client.on('connect', ({ reconnected }) => report({ e: 'connect', reconnected }));
client.on('offline', (error) => report({ e: 'offline', code: error.code }));
client.on('message', (topic, payload) => report({ e: 'message', topic, payload: payload.toString() }));
client.on('error', (error) => report({ e: 'error', code: error.code, description: error.description }));

let sent = 0;
const settling = new Set<Promise<void>>();
let ticker: NodeJS.Timeout | undefined;

function publishNext(): void {
  const n = ++sent;
  const outcome = client.publish(`${prefix}/out`, String(n), { qos: 1 }).then(
    () => report({ e: 'acked', n }),
    (error: MqttSnError) => report({ e: 'rejected', n, code: error.code }),
  );
  settling.add(outcome);
  void outcome.then(() => settling.delete(outcome));
}

async function main(): Promise<void> {
  await client.connect();
  await client.subscribe(`${prefix}/in`, { qos: 1 });
  report({ e: 'subscribed' });
  ticker = setInterval(publishNext, Number(process.env.PUBLISH_EVERY_MS ?? 100));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stop') return;
  clearInterval(ticker);
  void (async () => {
    while (settling.size > 0) await Promise.all([...settling]);
    report({ e: 'done', sent });
    await client.end();
    process.exit(0);
  })();
});

main().catch((error: MqttSnError) => {
  report({ e: 'failed', code: error.code, description: error.description });
  process.exit(1);
});
