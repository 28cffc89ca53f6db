/**
 * OpenSSL's own DTLS peers, `openssl s_server -dtls1_2` and `s_client
 * -dtls1_2`, as child processes: what they print is collected, what is
 * written to their standard input they send as application data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encode } from '../../lib/codec';
import { until } from './until';

export class OpenSslPeer {
  output = '';
  /** Everything printed, as octets (application data may be binary). */
  outputBytes = Buffer.alloc(0);
  errors = '';
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      this.outputBytes = Buffer.concat([this.outputBytes, chunk]);
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.errors += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** `openssl s_server -dtls1_2 -accept PORT -quiet` plus `args`. */
  static server(port: number, args: string[]): OpenSslPeer {
    return OpenSslPeer.spawn(['s_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`, '-quiet', ...args]);
  }

  /** `openssl s_client -dtls1_2 -connect 127.0.0.1:PORT -quiet` plus `args`. */
  static client(port: number, args: string[]): OpenSslPeer {
    return OpenSslPeer.spawn(['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-quiet', ...args]);
  }

  private static spawn(args: string[]): OpenSslPeer {
    return new OpenSslPeer(spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Sends `text` as application data (one line). */
  say(text: string): void {
    this.child.stdin?.write(`${text}\n`);
  }

  /** Sends `octets` as they are: one write, one record (with -quiet). */
  write(octets: Buffer): void {
    this.child.stdin?.write(octets);
  }

  /** Plays a gateway: once the client's CONNECT has come through, answers CONNACK accepted. */
  async acceptConnect(clientId: string, timeoutMs = 20000): Promise<void> {
    const connect = encode({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId });
    await until(() => this.outputBytes.includes(connect), `CONNECT of ${clientId} through openssl`, timeoutMs);
    this.write(encode({ type: 'CONNACK', returnCode: 0 }));
  }

  async heard(text: string, timeoutMs = 10000): Promise<void> {
    await until(() => this.output.includes(text), `openssl heard "${text}" (stdout: ${JSON.stringify(this.output)}, stderr: ${JSON.stringify(this.errors)})`, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
