/**
 * The size of each chaos scenario. `short` runs inside `npm test` (CI has 90 minutes for
 * everything); `full` is the resilience suite the issue specifies.
 */
export type ChaosProfileName = 'short' | 'full'

export const CHAOS_PROFILE: ChaosProfileName = process.env.CHAOS_PROFILE === 'short' ? 'short' : 'full'

/** Picks the value for the active profile. */
export function scaled<T>(values: { short: T; full: T }): T {
  return values[CHAOS_PROFILE]
}
