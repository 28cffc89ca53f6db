/**
 * Node-RED embedded in this process, serving the editor and the runtime on
 * one loopback HTTP server. Used by `npm start` and the editor tests.
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

interface NodeRedModule {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: http.RequestListener;
  httpNode: http.RequestListener;
}

export interface NodeRedOptions {
  userDir: string;
  /** Directories Node-RED scans for nodes: a package directory loads as a module, with its examples. */
  nodesDir: string[];
  /** Editor port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Console log level: 'info' for people, 'warn' for tests. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
}

export interface RunningNodeRed {
  /** The editor URL, ending in '/'. */
  url: string;
  stop(): Promise<void>;
}

export async function startNodeRed(options: NodeRedOptions): Promise<RunningNodeRed> {
  // Node-RED is a development dependency: loaded here, never by the package itself.
  const RED = createRequire(__filename)('node-red') as NodeRedModule;
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/api/')) RED.httpNode(req, res);
    else RED.httpAdmin(req, res);
  });
  RED.init(server, {
    userDir: options.userDir,
    flowFile: 'flows.json',
    nodesDir: options.nodesDir,
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    uiHost: '127.0.0.1',
    credentialSecret: false,
    functionGlobalContext: {},
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: options.logLevel ?? 'info', metrics: false, audit: false } },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  await RED.start();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      await RED.stop().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
