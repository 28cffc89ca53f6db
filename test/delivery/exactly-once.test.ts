/**
 * Nothing lost, nothing twice: numbered messages through a link that loses
 * 20 % of the packets, duplicates 10 % and holds some back for up to twice
 * the retry interval (so that copies overtake each other and arrive after
 * their exchange ended), between the client, the real gateway and a broker.
 */
import * as assert from 'node:assert/strict';
import type { MQTTSN } from '../../lib/client';
import { impairedLink, type ImpairmentCounts } from '../helpers/impairment';
import { LossyRelay } from '../helpers/lossy-relay';
import { delay } from '../helpers/mqtt-inbox';
import { soakBrokerKinds } from '../helpers/brokers';
import { startRig, uniq, type Rig } from '../client/support';

const MESSAGES = Number(process.env.EO_N ?? 1000);
const RETRY_MS = 150;
/** Below mosquitto 2.0.11's stall at 20 QoS 2 in flight from one publisher, and fast enough on the embedded broker. */
const WINDOW = 16;
/** Long enough for every late copy to have arrived. */
const QUIET_MS = 4 * RETRY_MS + 500;

/** Nothing new arriving for this long means stuck, however slow the machine. */
const STALL_MS = 30000;

/**
 * Waits until `count()` reaches `target`, as long as it keeps growing: a loaded machine is slow, a
 * stuck delivery stops. A stall fails with `state()` (what the client and gateway looked like).
 */
async function whileProgressing(count: () => number, target: number, what: string, state: () => string): Promise<void> {
  let last = count();
  let lastChange = Date.now();
  while (count() < target) {
    if (count() !== last) {
      last = count();
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_MS) {
      throw new Error(`${what}: ${last} of ${target}, nothing new for ${STALL_MS} ms; ${state()}`);
    }
    await delay(10);
  }
}

/** Awaits every call, failing when none settles any more. */
async function settledAll(calls: Promise<unknown>[], what: string, state: () => string): Promise<void> {
  let settled = 0;
  for (const call of calls) void call.then(() => settled++, () => settled++);
  await whileProgressing(() => settled, calls.length, `${what} settled`, state);
  await Promise.all(calls);
}

/** How often each sequence number arrived. */
class Tally {
  private readonly seen = new Map<number, number>();

  add(payload: Buffer): void {
    const seq = Number(payload.toString().split(' ')[1]);
    this.seen.set(seq, (this.seen.get(seq) ?? 0) + 1);
  }

  get distinct(): number {
    return this.seen.size;
  }

  result(): { lost: number; duplicated: number } {
    let duplicated = 0;
    for (const copies of this.seen.values()) duplicated += copies - 1;
    let lost = 0;
    for (let seq = 0; seq < MESSAGES; seq++) if (!this.seen.has(seq)) lost++;
    return { lost, duplicated };
  }
}

for (const kind of soakBrokerKinds()) describe(`nothing lost, nothing twice: 1000 messages each way through 20 % loss, 10 % duplication and reordering (${kind})`, function () {
  this.timeout(240000);
  let rig: Rig;
  let relay: LossyRelay;
  let link: ImpairmentCounts;
  let client: MQTTSN;

  let seed = 0;

  beforeEach(async () => {
    rig = await startRig(kind, { retry: { interval: RETRY_MS, count: 20 }, limits: { maxInFlight: WINDOW } });
    relay = await LossyRelay.start({ address: '127.0.0.1', port: rig.port });
    seed = Math.floor(Math.random() * 2 ** 31);
    const impaired = impairedLink({ loss: 0.2, duplicate: 0.1, reorder: 0.2, maxDelayMs: 2 * RETRY_MS, seed });
    link = impaired.counts;
    client = rig.client([`RetryInterval=${RETRY_MS / 1000}`, 'RetryCount=20', `MaxInFlight=${WINDOW}`]);
    client.timeout = 0;
    client.keepAliveInterval = 30;
    await client.connectTo('127.0.0.1', relay.address().port);
    // From here on: a copy of the CONNECT delayed past the client's next packets would start a new session.
    relay.rule = impaired.rule;
  });

  afterEach(async () => {
    await relay.stop();
    await rig.stop();
  });

  /** What the client and the gateway looked like, for a failure message. */
  function state(): string {
    return `client ${client.state}; gateway ${JSON.stringify(rig.gateway.stats)}`;
  }

  function report(what: string, tally: Tally): { lost: number; duplicated: number } {
    const result = tally.result();
    console.log(`      ${what} (${kind}): ${MESSAGES} sent, ${result.lost} lost, ${result.duplicated} duplicated (link: ${link.lost} packets lost, ${link.duplicated} duplicated, ${link.delayed} delayed; seed ${seed})`);
    return result;
  }

  async function publishAll(qos: 1 | 2): Promise<Tally> {
    const topic = uniq(`eo/up${qos}`);
    const tally = new Tally();
    rig.inbox.client.on('message', (t, payload) => {
      if (t === topic) tally.add(payload);
    });
    await rig.inbox.subscribe(topic, 2);
    const id = await client.registerTopic(topic);
    const sends: Promise<void>[] = [];
    for (let seq = 0; seq < MESSAGES; seq++) sends.push(client.publishMessage(id, 0, qos, `up ${seq}`));
    await settledAll(sends, 'the publishes', state);
    await whileProgressing(() => tally.distinct, MESSAGES, 'messages at the broker', state);
    await delay(QUIET_MS);
    return tally;
  }

  async function receiveAll(qos: 1 | 2): Promise<Tally> {
    const topic = uniq(`eo/down${qos}`);
    const tally = new Tally();
    client.on('messageIn', (event) => {
      if (event.topicName === topic) tally.add(event.message);
    });
    await client.subscribe(topic, 0, qos);
    // At most WINDOW unacknowledged at a time, as the client does the other way.
    for (let first = 0; first < MESSAGES; first += WINDOW) {
      const batch: Promise<unknown>[] = [];
      for (let seq = first; seq < Math.min(first + WINDOW, MESSAGES); seq++) batch.push(rig.inbox.client.publishAsync(topic, `down ${seq}`, { qos }));
      await settledAll(batch, `the publishes from ${first} on`, state);
    }
    await whileProgressing(() => tally.distinct, MESSAGES, 'messages at the client', state);
    await delay(QUIET_MS);
    return tally;
  }

  it('QoS 2 from the client: each message reaches the broker exactly once', async () => {
    assert.deepEqual(report('QoS 2 client -> broker', await publishAll(2)), { lost: 0, duplicated: 0 });
  });

  it('QoS 2 to the client: each message is delivered exactly once', async () => {
    assert.deepEqual(report('QoS 2 broker -> client', await receiveAll(2)), { lost: 0, duplicated: 0 });
  });

  if (kind !== 'embedded') return; // QoS 1 once is enough: its path does not depend on the broker

  it('QoS 1 from the client: none lost', async () => {
    assert.equal(report('QoS 1 client -> broker', await publishAll(1)).lost, 0);
  });

  it('QoS 1 to the client: none lost', async () => {
    assert.equal(report('QoS 1 broker -> client', await receiveAll(1)).lost, 0);
  });
});
