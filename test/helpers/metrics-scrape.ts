/**
 * Reads a gateway's HTTP endpoints the way Prometheus and a load balancer do.
 */
import * as http from 'node:http';

export interface HttpAnswer {
  status: number;
  type: string;
  body: string;
}

export function httpGet(url: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
  });
}

/** The value of one sample (`name{a="1",b="2"}`) in Prometheus text, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) found[pair[1]] = pair[2];
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** Scrapes `/metrics` until `check` holds on the text (or the time is up: the last text is returned). */
export async function scrapeUntil(base: string, check: (text: string) => boolean, timeoutMs = 10000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await httpGet(`${base}/metrics`);
    if (check(body) || Date.now() > end) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
