/**
 * One error type for the whole package. Every failure a user can see carries a
 * numeric `code` from the table below and a human `description`.
 *
 * Ranges:
 *   1xx    the reference class's UDP errors that apply to a UDP client
 *   27x-28x the reference class's SSL errors, raised by DTLS (lib/transport/dtls.ts)
 *   6xx    wire format (codec): raised by decode() and encode()
 *   7xx    protocol: client and gateway state machines
 */

export const ErrorCode = {
  // --- UDP (numbers as in the reference class) ---
  UDP_ALREADY_ACTIVE: 104,
  LOCAL_PORT_WHILE_ACTIVE: 106,
  LOCAL_HOST_WHILE_ACTIVE: 107,
  UDP_NOT_ACTIVE: 109,
  MESSAGE_TOO_LONG: 118,
  MESSAGE_TOO_SHORT: 119,

  // --- DTLS (numbers as in the reference class's SSL errors) ---
  SECURITY_LIBRARY: 270,
  CERTIFICATE_STORE: 271,
  CERTIFICATE_NOT_FOUND: 272,
  CREDENTIALS: 273,
  CERTIFICATE_CHAIN_MISSING: 274,
  CERTIFICATE_CHAIN: 275,
  HANDSHAKE: 276,
  CERTIFICATE_VERIFY: 280,
  CLIENT_CERTIFICATE: 281,
  SERVER_CERTIFICATE: 282,
  ENCRYPT: 283,
  DECRYPT: 284,

  // --- codec ---
  TRUNCATED: 601,
  LENGTH_MISMATCH: 602,
  INVALID_LENGTH: 603,
  RESERVED_TYPE: 604,
  WRONG_SIZE: 605,
  INVALID_TOPIC_ID: 606,
  INVALID_QOS: 607,
  INVALID_TOPIC_ID_TYPE: 608,
  INVALID_PROTOCOL_ID: 609,
  INVALID_CLIENT_ID: 610,
  INVALID_UTF8: 611,
  INVALID_TOPIC: 612,
  INVALID_MSG_ID: 613,
  PACKET_TOO_LARGE: 614,
  INVALID_FIELD: 615,
  INVALID_ENCAPSULATION: 616,
  INVALID_FLAGS: 617,

  // --- protocol ---
  NOT_CONNECTED: 701,
  TIMEOUT: 702,
  REJECTED_CONGESTION: 703,
  REJECTED_INVALID_TOPIC_ID: 704,
  REJECTED_NOT_SUPPORTED: 705,
  INVALID_ARGUMENT: 706,
  WRONG_STATE: 707,
  GATEWAY_LOST: 708,
  CONNECTION_REFUSED: 709,
  ABORTED: 710,
  NO_GATEWAY: 711,
  DNS_FAILED: 712,
  SOCKET_ERROR: 713,
  UNEXPECTED_PACKET: 714,
  LIMIT_REACHED: 715,
  PORT_UNREACHABLE: 716,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

/** Default description of each code; an error may carry a more precise one. */
export const ErrorDescription: Readonly<Record<number, string>> = {
  104: 'UDP is already active.',
  106: 'You cannot change the local port while the client is active.',
  107: 'You cannot change the local host while the client is active.',
  109: 'The client must be active for this operation.',
  118: 'Message cannot be longer than the maximum packet size.',
  119: 'Message too short.',

  270: 'Cannot load the security library: DTLS needs the native addon.',
  271: 'Cannot open the certificate store (CA).',
  272: 'Cannot find the specified certificate.',
  273: 'Cannot acquire security credentials (key, or pre-shared key).',
  274: 'Cannot find the certificate chain.',
  275: 'Cannot verify the certificate chain.',
  276: 'Error during the DTLS handshake.',
  280: 'Error verifying the certificate.',
  281: 'Could not find the client certificate.',
  282: 'Could not find the server certificate.',
  283: 'Error encrypting data.',
  284: 'Error decrypting data.',

  601: 'Datagram is shorter than its header or one of its fields.',
  602: 'Declared length differs from the datagram length.',
  603: 'Invalid length field.',
  604: 'Reserved message type.',
  605: 'Wrong size for a message of this type.',
  606: 'Topic id 0x0000 or 0xFFFF is not allowed here.',
  607: 'Invalid QoS for this message.',
  608: 'Invalid topic id type for this message.',
  609: 'Protocol id must be 0x01.',
  610: 'Client id must be 1 to 23 bytes of UTF-8.',
  611: 'Text field is not valid UTF-8.',
  612: 'Invalid topic name.',
  613: 'Message id 0 is not allowed here.',
  614: 'Packet would exceed 65535 octets.',
  615: 'Invalid field value.',
  616: 'Invalid forwarder encapsulation.',
  617: 'Reserved flag bits are set.',

  701: 'Not connected to a gateway.',
  702: 'Timed out waiting for the gateway.',
  703: 'Rejected by the gateway: congestion.',
  704: 'Rejected by the gateway: invalid topic id.',
  705: 'Rejected by the gateway: not supported.',
  706: 'Invalid argument.',
  707: 'Operation not allowed in the current state.',
  708: 'The gateway is lost: no answer after all retries.',
  709: 'Connection refused by the gateway.',
  710: 'Operation aborted.',
  711: 'No gateway known.',
  712: 'Host name could not be resolved.',
  713: 'Socket error.',
  714: 'Unexpected packet.',
  715: 'A configured limit was reached.',
  716: 'Nothing listens on the destination port (ICMP port unreachable).',
};

export class MqttSnError extends Error {
  /** Numeric code from {@link ErrorCode}. */
  readonly code: number;
  /** Human readable description: the default one for the code, or a more precise one. */
  readonly description: string;

  constructor(code: number, description?: string) {
    const text = description ?? ErrorDescription[code] ?? `Error ${code}`;
    super(text);
    this.name = 'MqttSnError';
    this.code = code;
    this.description = text;
  }
}

/** Maps an MQTT-SN return code (1..3) to the protocol error it stands for. */
export function errorForReturnCode(returnCode: number, what: string): MqttSnError {
  switch (returnCode) {
    case 1:
      return new MqttSnError(ErrorCode.REJECTED_CONGESTION, `${what} rejected by the gateway: congestion.`);
    case 2:
      return new MqttSnError(ErrorCode.REJECTED_INVALID_TOPIC_ID, `${what} rejected by the gateway: invalid topic id.`);
    case 3:
      return new MqttSnError(ErrorCode.REJECTED_NOT_SUPPORTED, `${what} rejected by the gateway: not supported.`);
    default:
      return new MqttSnError(ErrorCode.UNEXPECTED_PACKET, `${what} rejected by the gateway with return code ${returnCode}.`);
  }
}
