/**
 * The mqtt-sn-gateway command as a child process, with its output collected
 * so a test can wait for a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const GATEWAY_CLI = path.resolve(__dirname, '../../lib/gateway/cli.js');

/** What a gateway process says once it listens on 127.0.0.1, on either UDP engine; the port is group 1. */
export const LISTENING_ON_LOOPBACK = /listening on (?:native-)?udp 127\.0\.0\.1:(\d+)/;

export interface GatewayProcess {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr together. */
  output: () => string;
  exited: Promise<number | null>;
}

export function runGateway(args: string[], env: NodeJS.ProcessEnv = process.env): GatewayProcess {
  const child = spawn(process.execPath, [GATEWAY_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** Resolves with the first match of `pattern` in the output (searched from `from` on). */
export async function waitForOutput(running: GatewayProcess, pattern: RegExp, timeoutMs = 8000, from = 0): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const match = running.output().slice(from).match(pattern);
    if (match) return match;
    if (Date.now() > end || running.child.exitCode !== null) throw new Error(`no ${pattern} in output:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
