/** Counters a running gateway exposes as `gateway.stats`; `/metrics` and the stats topics read them. */
import type { EndReason } from './ports';

/** QoS of a PUBLISH as counted: -1 (connectionless), 0, 1, 2. */
export type CountedQos = '-1' | '0' | '1' | '2';

export interface GatewayStats {
  /** Sessions currently connected, asleep or awake. */
  clients: number;
  /** Datagrams received / sent on the UDP socket. */
  received: number;
  sent: number;
  /** Datagrams that did not decode. */
  malformed: number;
  /** The same, by the decoder's error code. */
  malformedByCode: Record<string, number>;
  /** Packets that needed a session from an address without one (answered with DISCONNECT). */
  unknownSender: number;
  /** PUBLISHes from clients forwarded to the broker. */
  publishedUpstream: number;
  /** The same, by QoS. */
  publishedUpstreamByQos: Record<CountedQos, number>;
  /** PUBLISHes sent to clients (first transmissions). */
  deliveredDownstream: number;
  /** The same, by QoS. */
  deliveredDownstreamByQos: Record<CountedQos, number>;
  /** QoS -1 PUBLISHes accepted from clients without a session. */
  qosMinusOne: number;
  /** QoS 0 messages for a client dropped because its queue was full (logged once per interval). */
  droppedQos0: number;
  /** QoS 1/2 messages for a client refused because its queue was full of QoS 1/2 (logged at warn). */
  refusedQos12: number;
  /** QoS 1/2 messages that waited for room in a client's queue, their acknowledgement to the broker held. */
  held: number;
  /** QoS 1/2 messages given up after all retransmissions (logged at warn). */
  undelivered: number;
  retransmissions: number;
  /** Requests answered with return code "congestion" because of a limit. */
  congestion: number;
  /** The same, by the limit that refused. */
  congestionByLimit: Record<string, number>;
  /** Clients declared lost (keep-alive or sleep timer ran out). */
  lost: number;
  /** Sessions created since start. */
  sessionsOpened: number;
  /** Sessions ended since start, by reason. */
  sessionsClosed: Partial<Record<EndReason, number>>;
  /** SEARCHGW left unanswered: over limits.searchPerSource a second. */
  searchLimited: number;
  /** Datagrams not sent: their address has not proven it receives, has had as many octets as it sent, and has enough held. */
  unproven: number;
}

export function createStats(): GatewayStats {
  return {
    clients: 0,
    received: 0,
    sent: 0,
    malformed: 0,
    malformedByCode: {},
    unknownSender: 0,
    publishedUpstream: 0,
    publishedUpstreamByQos: { '-1': 0, '0': 0, '1': 0, '2': 0 },
    deliveredDownstream: 0,
    deliveredDownstreamByQos: { '-1': 0, '0': 0, '1': 0, '2': 0 },
    qosMinusOne: 0,
    droppedQos0: 0,
    refusedQos12: 0,
    held: 0,
    undelivered: 0,
    retransmissions: 0,
    congestion: 0,
    congestionByLimit: {},
    lost: 0,
    sessionsOpened: 0,
    sessionsClosed: {},
    searchLimited: 0,
    unproven: 0,
  };
}

/** A PUBLISH from a client went to the broker. */
export function countUpstream(stats: GatewayStats, qos: number): void {
  stats.publishedUpstream++;
  stats.publishedUpstreamByQos[String(qos) as CountedQos]++;
}

/** A PUBLISH went to a client for the first time. */
export function countDownstream(stats: GatewayStats, qos: number): void {
  stats.deliveredDownstream++;
  stats.deliveredDownstreamByQos[String(qos) as CountedQos]++;
}

/** A request was refused with "congestion" because `limit` was reached. */
export function countCongestion(stats: GatewayStats, limit: string): void {
  stats.congestion++;
  stats.congestionByLimit[limit] = (stats.congestionByLimit[limit] ?? 0) + 1;
}

/** A datagram did not decode (`code`: the MqttSnError code). */
export function countMalformed(stats: GatewayStats, code: number): void {
  stats.malformed++;
  stats.malformedByCode[code] = (stats.malformedByCode[code] ?? 0) + 1;
}

export function countClosed(stats: GatewayStats, reason: EndReason): void {
  stats.sessionsClosed[reason] = (stats.sessionsClosed[reason] ?? 0) + 1;
}
