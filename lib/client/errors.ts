/**
 * The client's error table: every code MQTTSN and MqttSnClient raise or report, with the
 * reference class's code it stands for (when there is one). The numbers and
 * default descriptions live in lib/errors.ts; docs/client.md explains the
 * reference codes that do not apply to a UDP client.
 */
import { ErrorCode } from '../errors';

export interface ClientErrorEntry {
  code: number;
  /** The reference class's code(s) this one covers, if any. */
  reference: readonly number[];
  /** When the client raises it. */
  when: string;
}

export const CLIENT_ERRORS: readonly ClientErrorEntry[] = [
  { code: ErrorCode.UDP_ALREADY_ACTIVE, reference: [104], when: 'connect() while connected or connecting' },
  { code: ErrorCode.LOCAL_PORT_WHILE_ACTIVE, reference: [106], when: 'localPort set while the socket is open' },
  { code: ErrorCode.LOCAL_HOST_WHILE_ACTIVE, reference: [107], when: 'localHost set while the socket is open' },
  { code: ErrorCode.UDP_NOT_ACTIVE, reference: [109], when: 'a send with no socket open' },
  { code: ErrorCode.MESSAGE_TOO_LONG, reference: [118], when: 'a payload larger than MaxPacketSize allows' },
  { code: ErrorCode.MESSAGE_TOO_SHORT, reference: [119], when: 'a received datagram under 2 octets (error event)' },
  { code: ErrorCode.NOT_CONNECTED, reference: [], when: 'a session call without a connection; DISCONNECT from the gateway' },
  { code: ErrorCode.TIMEOUT, reference: [10060], when: 'no acknowledgement within timeout or ConnectionTimeout' },
  { code: ErrorCode.REJECTED_CONGESTION, reference: [], when: 'return code 1 (after waiting CongestionDelay until timeout)' },
  { code: ErrorCode.REJECTED_INVALID_TOPIC_ID, reference: [], when: 'return code 2 that re-registering cannot fix' },
  { code: ErrorCode.REJECTED_NOT_SUPPORTED, reference: [], when: 'return code 3' },
  { code: ErrorCode.INVALID_ARGUMENT, reference: [10022], when: 'any bad argument, property value or setting' },
  { code: ErrorCode.WRONG_STATE, reference: [], when: 'a call the current state forbids (asleep, not asleep)' },
  { code: ErrorCode.GATEWAY_LOST, reference: [], when: 'no answer after RetryCount retransmissions' },
  { code: ErrorCode.CONNECTION_REFUSED, reference: [10061], when: 'CONNACK with a return code other than 0' },
  { code: ErrorCode.ABORTED, reference: [], when: 'a pending call ended by disconnect() or reset()' },
  { code: ErrorCode.NO_GATEWAY, reference: [], when: 'no gateway configured or discovered' },
  { code: ErrorCode.LIMIT_REACHED, reference: [], when: 'MqttSnClient: a call beyond the hold bounds while (re)connecting' },
  { code: ErrorCode.SECURITY_LIBRARY, reference: [270], when: 'DTLS turned on without the native addon' },
  { code: ErrorCode.CERTIFICATE_STORE, reference: [271], when: 'DTLS: the CA file cannot be read or holds no certificate' },
  { code: ErrorCode.CERTIFICATE_NOT_FOUND, reference: [272], when: 'DTLS: the certificate file cannot be read or is not PEM' },
  { code: ErrorCode.CREDENTIALS, reference: [273], when: 'DTLS: the key cannot be read or does not match; a PSK key that is not hex' },
  { code: ErrorCode.CERTIFICATE_CHAIN, reference: [274, 275], when: "DTLS: the gateway's certificate does not chain to a trusted CA" },
  { code: ErrorCode.HANDSHAKE, reference: [276], when: 'DTLS: the handshake failed (an alert, or no valid answer in time)' },
  { code: ErrorCode.CERTIFICATE_VERIFY, reference: [280], when: "DTLS: the gateway's certificate is expired, not yet valid or for another name" },
  { code: ErrorCode.ENCRYPT, reference: [283], when: 'DTLS: a record could not be encrypted' },
  { code: ErrorCode.DECRYPT, reference: [284], when: 'DTLS: a record could not be decrypted' },
  { code: ErrorCode.DNS_FAILED, reference: [11001, 11002, 11003, 11004], when: 'a host name that does not resolve' },
  {
    code: ErrorCode.SOCKET_ERROR,
    reference: [10004, 10009, 10013, 10014, 10024, 10035, 10036, 10037, 10038, 10039, 10040, 10041, 10042, 10043, 10044,
      10045, 10046, 10047, 10048, 10049, 10050, 10051, 10052, 10053, 10054, 10055, 10056, 10057, 10058, 10059, 10062,
      10063, 10064, 10065, 10066, 10067, 10068, 10069, 10070, 10071, 10091, 10092, 10093],
    when: 'the operating system refused a bind or send (its message is in the description)',
  },
];
