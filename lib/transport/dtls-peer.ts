/**
 * One DTLS association as the DTLS transport keeps it: the addon's
 * connection, whether its handshake is done, who the peer proved to be, and
 * what the client wrote before the handshake finished.
 */
import type { MqttSnError } from '../errors';
import type { NativeDtlsConnection } from './dtls-native';
import type { Endpoint } from './endpoint';

/** Plaintext datagrams a client may queue while its handshake runs. */
export const MAX_PENDING_WRITES = 64;

export class DtlsPeer {
  connected = false;
  /** PSK identity or certificate common name of the peer (server side). */
  identity = '';
  /** Largest plaintext that fits one record within the MTU; known once connected. */
  dataMtu = 0;
  cipher = '';
  resumed = false;
  /** When a datagram last went to or came from the peer (performance.now()). */
  lastActive: number;
  /** Plaintext waiting for the handshake. */
  readonly pending: Buffer[] = [];
  /** Settles when the handshake completes or fails. */
  readonly ready: Promise<void>;
  private settleReady: ((error?: MqttSnError) => void) | undefined;

  constructor(
    /** Timer id in the transport's timer queue. */
    readonly id: number,
    readonly endpoint: Endpoint,
    readonly connection: NativeDtlsConnection,
    /** A handshake not done by then fails. */
    readonly handshakeDeadline: number,
  ) {
    this.lastActive = handshakeDeadline;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may be waiting: a failure is also reported through onError.
    this.ready.catch(() => undefined);
  }

  established(): void {
    const info = this.connection.info();
    this.connected = true;
    this.identity = info.identity;
    this.dataMtu = info.dataMtu;
    this.cipher = info.cipher;
    this.resumed = info.resumed;
    this.settleReady?.();
    this.settleReady = undefined;
  }

  failed(error: MqttSnError): void {
    this.settleReady?.(error);
    this.settleReady = undefined;
    this.pending.length = 0;
  }
}
