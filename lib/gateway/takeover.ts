/**
 * Who may take over a live session by connecting with its client id. Without
 * a rule, any datagram with a known client id steals the session (and, with
 * cleanSession off, its subscriptions), and the real client is told nothing.
 */
export type TakeoverPolicy = 'allow' | 'same-address' | 'refuse-while-alive';

export const TAKEOVER_POLICIES: readonly TakeoverPolicy[] = ['allow', 'same-address', 'refuse-while-alive'];

/**
 * Whether a CONNECT may take over a session that is `alive` (heard from within
 * its keep-alive, sleep duration or idle limit), coming from the same IP
 * address as that session (`sameHost`, a forwarder's for encapsulated nodes) or not:
 * - 'allow': always;
 * - 'same-address' (the default): from the same IP address (a new port, a restarted
 *   client), or once the old session has been silent longer than its keep-alive;
 * - 'refuse-while-alive': only once the old session has been silent that long.
 */
export function mayTakeOver(policy: TakeoverPolicy, alive: boolean, sameHost: boolean): boolean {
  if (policy === 'allow' || !alive) return true;
  return policy === 'same-address' && sameHost;
}
