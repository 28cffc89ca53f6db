/**
 * The hostile suite: generated datagrams (random, mutated captured packets,
 * valid packets of every type, every type with wrong sizes, nested
 * encapsulation, poisoned topics, storms of one client id, floods from one
 * source) from many loopback addresses, against a gateway in each mode, while
 * an honest client publishes at QoS 1 beside them. The gateway must survive,
 * the honest client lose nothing, no source get more octets than it sent (none
 * of them proves it receives), and descriptors, broker connections and memory
 * come back to where they were.
 *
 * MQTTSN_HOSTILE_REPORT=file appends the figures of each run to `file` as JSON.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { MQTTSN } from '../../lib/client';
import { MqttSnGateway } from '../../lib/gateway';
import { countingAedes, type CountingBroker } from '../helpers/brokers';
import { MqttInbox, delay } from '../helpers/mqtt-inbox';
import type { AttackPlan, AttackReport } from './hostile-attacker';

/** Datagrams per mode (400,000 in all). */
const DATAGRAMS_PER_MODE = Number(process.env.MQTTSN_HOSTILE_DATAGRAMS || 200_000);
const SOURCES = Array.from({ length: 40 }, (_, i) => `127.0.0.${10 + i}`);

function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The heap after a full collection (gc exposed for this measurement only). */
function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function until(condition: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(50);
  }
}

function runAttack(plan: AttackPlan): Promise<AttackReport> {
  const worker = new Worker(path.join(__dirname, 'hostile-attacker.js'), { workerData: plan });
  return new Promise<AttackReport>((resolve, reject) => {
    let report: AttackReport | undefined;
    worker.once('message', (message: AttackReport) => (report = message));
    worker.once('error', reject);
    worker.once('exit', () => (report ? resolve(report) : reject(new Error('the attacker stopped without a report'))));
  });
}

describe('gateway under hostile input', function () {
  this.timeout(240000);

  for (const [index, mode] of (['transparent', 'aggregating'] as const).entries()) {
    it(`survives ${DATAGRAMS_PER_MODE} hostile datagrams from ${SOURCES.length} addresses in ${mode} mode, an honest QoS 1 client losing nothing`, async () => {
      let broker: CountingBroker | undefined;
      let inbox: MqttInbox | undefined;
      let gateway: MqttSnGateway | undefined;
      const honest = new MQTTSN();
      try {
        broker = await countingAedes();
        inbox = await MqttInbox.connect(broker.url);
        await inbox.subscribe('honest/#', 1);
        const received = new Set<string>();
        inbox.client.on('message', (topic, payload) => {
          if (topic === 'honest/data') received.add(payload.toString());
        });
        const brokerBaseline = broker.open();
        const descriptorBaseline = openDescriptors();
        const heapBaseline = heapAfterGc();

        gateway = new MqttSnGateway({
          host: '127.0.0.1',
          port: 0,
          broker: broker.url,
          mode,
          logLevel: 'error',
          retry: { interval: 500, count: 3 },
          limits: { maxIdle: 2 },
        });
        await gateway.start();
        const port = gateway.address().port;

        honest.clientId = 'honest';
        // A keep-alive, as a real client has: a session silent for longer (or, with 0, for limits.maxIdle)
        // may be taken over by a storm of its client id, as the takeover policy allows.
        honest.keepAliveInterval = 30;
        honest.timeout = 60;
        for (const setting of ['RetryInterval=1', 'RetryCount=20', 'PingTimeout=2', 'ConnectionTimeout=20']) honest.config(setting);
        await honest.connectTo('127.0.0.1', port);
        const topicId = await honest.registerTopic('honest/data');

        const progress = new SharedArrayBuffer(4);
        const progressView = new Int32Array(progress);
        let peakRss = process.memoryUsage().rss;
        const watch = setInterval(() => {
          Atomics.store(progressView, 0, gateway?.stats.received ?? 0);
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }, 5);
        const receivedBefore = gateway.stats.received;
        const started = Date.now();
        const attack = runAttack({
          gatewayPort: port,
          seed: 0x5eed + index,
          total: DATAGRAMS_PER_MODE,
          sources: SOURCES,
          socketsPerSource: 2,
          honestId: 'honest',
          progress,
          window: 2000,
        });
        let done = false;
        void attack.then(
          () => (done = true),
          () => (done = true),
        );
        let published = 0;
        const failures: string[] = [];
        while (!done) {
          try {
            await honest.publishMessage(topicId, 0, 1, String(published));
          } catch (error) {
            failures.push((error as Error).message);
            if (failures.length > 20) break;
            await delay(100);
          }
          published++;
        }
        const report = await attack;
        const handledMs = Date.now() - started;
        clearInterval(watch);

        // The gateway survived, and serves the honest client as before.
        await honest.publishMessage(topicId, 0, 1, String(published++));
        await honest.ping();
        assert.deepStrictEqual(failures, [], 'the honest client saw no error');
        const expected = Array.from({ length: published }, (_, n) => String(n));
        await until(() => expected.every((n) => received.has(n)), `all ${published} honest messages at the broker`).catch((error: Error) => {
          const missing = expected.filter((n) => !received.has(n));
          const extra = [...received].filter((n) => !expected.includes(n));
          throw new Error(`${error.message}: missing ${missing.slice(0, 10).join(',')}, unexpected ${extra.slice(0, 10).join(',')}`);
        });

        // No source got more than it sent: none of them proved it receives.
        let largest = 0;
        for (const socket of report.sockets) {
          assert.ok(socket.received <= socket.sent, `${socket.address}:${socket.port} got ${socket.received} octets for ${socket.sent}`);
          if (socket.sent > 0) largest = Math.max(largest, socket.received / socket.sent);
        }

        // No broker connection without a session behind it.
        await delay(2500);
        const sessions = gateway.clientCount;
        const extra = mode === 'transparent' ? sessions + 1 : 1; // one per session and the shared one, or just the shared one
        await until(() => broker!.open() <= brokerBaseline + extra, `broker connections (${broker!.open()}) within sessions (${sessions})`);

        const figures = {
          mode,
          datagrams: report.sent,
          byKind: report.byKind,
          handledPerSecond: Math.round(((gateway.stats.received - receivedBefore) * 1000) / handledMs),
          peakRssMb: Math.round(peakRss / 1048576),
          largestAmplification: Number(largest.toFixed(3)),
          honestMessages: published,
          brokerConnectionsAccepted: broker.accepted(),
          sessionsAfter: sessions,
          stats: {
            malformed: gateway.stats.malformed,
            unknownSender: gateway.stats.unknownSender,
            congestion: gateway.stats.congestion,
            congestionByLimit: gateway.stats.congestionByLimit,
            searchLimited: gateway.stats.searchLimited,
            unproven: gateway.stats.unproven,
          },
        };
        if (process.env.MQTTSN_HOSTILE_REPORT) fs.appendFileSync(process.env.MQTTSN_HOSTILE_REPORT, `${JSON.stringify(figures)}\n`);

        honest.reset();
        await gateway.stop();
        gateway = undefined;
        await until(() => broker!.open() === brokerBaseline, 'every broker connection of the gateway closed');
        await until(() => openDescriptors() <= descriptorBaseline, `descriptors back to ${descriptorBaseline} (${openDescriptors()})`);
        const heap = heapAfterGc();
        assert.ok(heap < heapBaseline + 32 * 1048576, `heap ${Math.round(heap / 1048576)} MB after, ${Math.round(heapBaseline / 1048576)} MB before`);
      } finally {
        honest.reset();
        await gateway?.stop();
        await inbox?.close();
        await broker?.close();
      }
    });
  }
});
