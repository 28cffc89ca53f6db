/** Counters a running gateway exposes as `gateway.stats`. */
export interface GatewayStats {
  /** Sessions currently connected, asleep or awake. */
  clients: number;
  /** Datagrams received / sent on the UDP socket. */
  received: number;
  sent: number;
  /** Datagrams that did not decode. */
  malformed: number;
  /** Packets that needed a session from an address without one (answered with DISCONNECT). */
  unknownSender: number;
  /** PUBLISHes from clients forwarded to the broker. */
  publishedUpstream: number;
  /** PUBLISHes sent to clients (first transmissions). */
  deliveredDownstream: number;
  /** QoS -1 PUBLISHes accepted from clients without a session. */
  qosMinusOne: number;
  /** QoS 0 messages for a client dropped because its queue was full. */
  droppedQos0: number;
  /** QoS 1/2 messages for a client refused because its queue was full of QoS 1/2 (logged at warn). */
  refusedQos12: number;
  /** QoS 1/2 messages given up after all retransmissions (logged at warn). */
  undelivered: number;
  retransmissions: number;
  /** Requests answered with return code "congestion" because of a limit. */
  congestion: number;
  /** Clients declared lost (keep-alive or sleep timer ran out). */
  lost: number;
}

export function createStats(): GatewayStats {
  return {
    clients: 0,
    received: 0,
    sent: 0,
    malformed: 0,
    unknownSender: 0,
    publishedUpstream: 0,
    deliveredDownstream: 0,
    qosMinusOne: 0,
    droppedQos0: 0,
    refusedQos12: 0,
    undelivered: 0,
    retransmissions: 0,
    congestion: 0,
    lost: 0,
  };
}
