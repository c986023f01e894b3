import type { Counter } from 'prom-client'
import type { Logger } from './logger.js'

/**
 * Whether the contract is checked on the way out too (results and events against their
 * schemas): in tests and development, where a broken promise should fail loudly, not in
 * a user's app. `BSV_P2P_CONTRACT_CHECKS=1` turns it on anywhere.
 */
export function contractChecks(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BSV_P2P_CONTRACT_CHECKS === '1' || env.NODE_ENV === 'test' || env.NODE_ENV === 'development'
}

/**
 * Where an error no part typed becomes `internal` (a transport, the event bus): logged
 * once there, with its stack and cause, and counted (each place has its own counter:
 * registries are merged at /metrics, where one name may appear only once).
 */
export function unexpectedErrorReporter(logger: Logger, counter: Counter | null, where: string): (what: string, err: unknown) => void {
  return (what, err) => {
    counter?.inc()
    const fields: Record<string, unknown> = { where, what: what.slice(0, 64), err }
    // A thrown string or object has no stack of its own: the boundary's is the best there is.
    if (!(err instanceof Error)) fields.caughtAt = new Error('caught here').stack
    logger.error('unexpected error', fields)
  }
}
