/**
 * The example flows (examples/*.json, each an importable list of nodes) as
 * one flow file: a tab per example, configuration nodes shared by id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The gateway's pre-defined topics the examples rely on (their configuration lists the same ids). */
export const EXAMPLE_PREDEFINED_TOPICS: Record<string, string> = { '1': 'demo/alarm', '2': 'demo/status' };

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** Config nodes carry no position and are not on a tab. */
function isConfigNode(node: FlowNode): boolean {
  return node.type === 'mqtt-sn-broker';
}

/**
 * Reads every example, puts each on its own tab, and points the gateway
 * configurations at `gatewayPort` when it differs from the default. The debug
 * nodes of all but the first tab start inactive, so the sidebar shows one
 * example at a time: their buttons on the canvas turn each on.
 */
export function buildExampleFlows(examplesDir: string, gatewayPort = 1884): FlowNode[] {
  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort();
  const flows: FlowNode[] = [];
  const configs = new Map<string, FlowNode>();
  files.forEach((file, index) => {
    const tabId = `mqttsn.example.${index + 1}`;
    flows.push({ id: tabId, type: 'tab', label: path.basename(file, '.json'), disabled: false, info: '' });
    const nodes = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8')) as FlowNode[];
    for (const node of nodes) {
      if (isConfigNode(node)) {
        if (!configs.has(node.id)) {
          configs.set(node.id, node.port === 1884 ? { ...node, port: gatewayPort } : { ...node });
        }
      } else {
        const quiet = index > 0 && node.type === 'debug';
        flows.push(quiet ? { ...node, z: tabId, active: false } : { ...node, z: tabId });
      }
    }
  });
  return [...flows, ...configs.values()];
}
