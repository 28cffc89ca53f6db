/**
 * `npm start`: an MQTT-SN gateway with its embedded MQTT broker, and Node-RED
 * with this package's nodes and the example flows, all on 127.0.0.1.
 *
 * Node-RED keeps its files in .node-red/ inside the project. The example
 * flows are written there as the flow file when there is none yet; delete
 * .node-red/flows.json to get them back.
 *
 * Environment: MQTTSN_PORT (gateway UDP port, default 1884), PORT (editor,
 * default 1880).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MqttSnGateway } from '../lib';
import { buildExampleFlows, EXAMPLE_PREDEFINED_TOPICS } from './example-flows';
import { startNodeRed } from './node-red-runtime';

const root = path.resolve(__dirname, '..', '..');
const userDir = path.join(root, '.node-red');

function portFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number`);
  return value;
}

async function main(): Promise<void> {
  const gateway = new MqttSnGateway({ host: '127.0.0.1', port: portFromEnv('MQTTSN_PORT', 1884), predefined: EXAMPLE_PREDEFINED_TOPICS });
  gateway.on('log', (entry: { level: string; message: string }) => {
    if (entry.level !== 'debug') console.log(`[gateway] ${entry.message}`);
  });
  await gateway.start();

  fs.mkdirSync(userDir, { recursive: true });
  const flowFile = path.join(userDir, 'flows.json');
  if (!fs.existsSync(flowFile)) {
    const flows = buildExampleFlows(path.join(root, 'examples'), gateway.address().port);
    fs.writeFileSync(flowFile, `${JSON.stringify(flows, null, 2)}\n`);
  }

  const nodeRed = await startNodeRed({ userDir, nodesDir: [root], port: portFromEnv('PORT', 1880) });
  const gw = gateway.address();
  console.log(`\nMQTT-SN gateway: udp ${gw.address}:${gw.port} (broker ${gateway.brokerUrl})`);
  console.log(`Node-RED editor: ${nodeRed.url}`);
  console.log('Open it and watch the debug sidebar. Press Ctrl-C to stop.\n');

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    await nodeRed.stop();
    await gateway.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
