/**
 * The one backoff: how long to wait before the next try (the relay keeper, the peer watch,
 * chain HTTP, channel chain actions, message and payment resends), and when a circuit
 * breaker opens and closes. No timers and no I/O here, so every rule is unit-tested.
 */

export interface BackoffPolicy {
  /** First retry delay bound (ms); doubles per consecutive failure. */
  baseDelayMs: number
  /** Upper bound of the delay (ms): caps both the attempt rate and the recovery time. */
  maxDelayMs: number
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)).
 * `attempt` is the number of consecutive failures so far: 0 right after a relay was lost
 * (a quick redial catches a connection reset on a live relay), 1 after the first failed
 * dial, and so on. Full jitter spreads the retries of many clients after a restart of what
 * they wait for; with a relay keeper's cap at 2 s the expected wait once the relay is back
 * is about 1 s, whatever the length of the outage.
 */
export function nextDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30)
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent)
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.floor(r * bound)
}

export interface BreakerState {
  consecutiveFailures: number
  open: boolean
}

export const CLOSED_BREAKER: BreakerState = Object.freeze({ consecutiveFailures: 0, open: false })

export interface BreakerTransition {
  state: BreakerState
  /** True exactly once, on the failure that opens the breaker: log it then, and only then. */
  opened: boolean
  /** True exactly once, on the success that closes an open breaker. */
  closed: boolean
}

export function recordFailure(state: BreakerState, threshold: number): BreakerTransition {
  const consecutiveFailures = state.consecutiveFailures + 1
  const open = state.open || consecutiveFailures >= threshold
  return { state: { consecutiveFailures, open }, opened: open && !state.open, closed: false }
}

export function recordSuccess(state: BreakerState): BreakerTransition {
  return { state: CLOSED_BREAKER, opened: false, closed: state.open }
}
