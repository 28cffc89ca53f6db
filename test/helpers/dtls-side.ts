/**
 * One end of a DTLS test: a DtlsTransport bound on loopback (over UDP unless
 * another inner transport is given), with everything it received and every
 * error it reported collected. Handshakes retransmit quickly for tests.
 */
import type { MqttSnError } from '../../lib/errors';
import { DtlsTransport, type DtlsTransportOptions } from '../../lib/transport/dtls';
import { loadDtlsBinding } from '../../lib/transport/dtls-native';
import type { Endpoint } from '../../lib/transport/endpoint';
import type { DatagramTransport, ReceivedDatagram } from '../../lib/transport/types';
import { UdpTransport } from '../../lib/transport/udp';

export interface DtlsSide {
  dtls: DtlsTransport;
  received: ReceivedDatagram[];
  errors: MqttSnError[];
  address: Endpoint;
}

/** Opens a side; `opened` collects the transport so the test can close it. */
export async function openDtlsSide(opened: DatagramTransport[], options: DtlsTransportOptions, inner: DatagramTransport = new UdpTransport()): Promise<DtlsSide> {
  const dtls = new DtlsTransport(inner, { retransmitMs: 200, handshakeTimeoutMs: 15000, ...options });
  opened.push(dtls);
  const received: ReceivedDatagram[] = [];
  const errors: MqttSnError[] = [];
  dtls.onReceive((batch) => received.push(...batch));
  dtls.onError((error) => errors.push(error));
  await dtls.bind({ family: 4, address: '127.0.0.1' });
  return { dtls, received, errors, address: dtls.localAddress() as Endpoint };
}

/** Whether some datagram received holds `text`. */
export function heard(received: readonly ReceivedDatagram[], text: string): () => boolean {
  return () => received.some((d) => d.data.toString('utf8').includes(text));
}

/** A ClientHello as a client sends it first (no cookie yet): what a spoofed flood repeats. */
export function firstClientHello(): Buffer {
  const binding = loadDtlsBinding();
  const context = new binding.Context({ server: false, ciphers: 'PSK-AES128-GCM-SHA256', linkMtu: 1280, retransmitMs: 1000, verifyPeer: false, pskIdentity: 'x', pskKey: Buffer.from('01', 'hex') });
  const connection = new binding.Connection(context, 'spoofed', false);
  connection.start();
  const [hello] = connection.takeOutput();
  connection.free();
  return hello;
}
