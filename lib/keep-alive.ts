/**
 * Keep-alive timing shared by the client and the gateway, so that the
 * client's schedule fits inside the gateway's tolerance (docs/client.md and
 * docs/gateway.md describe them together).
 *
 * The gateway declares a client lost after `toleranceMs(K)` of silence:
 * 1.5 × K up to a minute, 1.1 × K above (as the spec suggests).
 *
 * The client sends its PINGREQ after half the keep-alive without sending,
 * repeats it unanswered every `retryMs` (at most PingTimeout and
 * RetryInterval, and small enough that at least PINGS_PER_TOLERANCE pings fit
 * into the gateway's tolerance) and declares the gateway lost only when it has
 * made its RetryCount retransmissions and heard nothing from the gateway for
 * twice the tolerance: a lossy link makes it ping more, not give up.
 */

/** The client pings after this fraction of the keep-alive without sending. */
export const PING_AT_FRACTION = 0.5;
/** Unanswered PINGREQs the client fits into the gateway's tolerance at least. */
export const PINGS_PER_TOLERANCE = 16;
/** The client gives the gateway up after this many tolerances without hearing from it. */
export const GATEWAY_SILENCE_TOLERANCES = 2;

/** How long the gateway lets a client with this keep-alive (or sleep) duration stay silent, ms. */
export function toleranceMs(durationSeconds: number, factor?: number): number {
  return durationSeconds * 1000 * (factor ?? (durationSeconds > 60 ? 1.1 : 1.5));
}

export interface PingSchedule {
  /** Silence (nothing sent) after which the client sends a PINGREQ, ms. */
  firstPingMs: number;
  /** Interval between PINGREQs while unanswered, ms. */
  retryMs: number;
  /** Silence from the gateway after which (its retransmissions made) the client gives it up, ms. */
  gatewayLostMs: number;
}

/** The client's keep-alive schedule for keep-alive `keepAliveSeconds` (> 0). */
export function pingSchedule(keepAliveSeconds: number, pingTimeoutSeconds: number, retryIntervalSeconds: number): PingSchedule {
  const tolerance = toleranceMs(keepAliveSeconds);
  return {
    firstPingMs: keepAliveSeconds * 1000 * PING_AT_FRACTION,
    retryMs: Math.min(pingTimeoutSeconds * 1000, retryIntervalSeconds * 1000, tolerance / PINGS_PER_TOLERANCE),
    gatewayLostMs: tolerance * GATEWAY_SILENCE_TOLERANCES,
  };
}
