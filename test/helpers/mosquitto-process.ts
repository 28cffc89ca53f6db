/**
 * A private mosquitto for restart tests: its own process on a free loopback
 * port, with persistence in a temporary directory, which a test stops and
 * starts again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeTcpPort, waitForTcp } from './net';

const MOSQUITTO_PATHS = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export class MosquittoProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<MosquittoProcess> {
    const binary = MOSQUITTO_PATHS.find((p) => fs.existsSync(p));
    if (!binary) throw new Error('mosquitto is not installed: `apt-get install mosquitto`');
    const port = await freeTcpPort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttsn-mosquitto-'));
    const conf = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 1', ''];
    fs.writeFileSync(path.join(dir, 'mosquitto.conf'), conf.join('\n'));
    const broker = new MosquittoProcess(port, dir);
    await broker.run(binary);
    return broker;
  }

  private async run(binary = MOSQUITTO_PATHS.find((p) => fs.existsSync(p)) as string): Promise<void> {
    const child = spawn(binary, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitForTcp(this.port, 10000);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  /** Stops the broker (SIGTERM saves its sessions, SIGKILL loses what it did not save). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.run();
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
