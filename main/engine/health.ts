import type { Health, HealthStatus } from '../../shared/contract/index.js'

export interface HealthInputs {
  running: boolean
  relay: Health['relay']
  chain?: Health['chain']
  /** Channel problems that can cost money if nobody looks (a failing settlement, a lying peer). */
  channelProblems?: readonly { channelId: string; message: string }[]
  /** Direct messages backing up (a peer's queue that stays full). */
  messagingProblems?: readonly string[]
  /** The disk refuses the database's writes (full, read-only, failing): nothing can be acknowledged. */
  storeFault?: { code: string; message: string; since: number } | null
  /** The last database backup failed (until one succeeds). */
  backupProblem?: string | null
  /** P2P listeners: how many direct addresses are bound, and which requested ones are not. */
  listeners?: { bound: number; missing: readonly { flag: string; port: number; key: string }[] }
}

/**
 * Pure: the status and the reasons a person reads. A stopped engine is `down`, and so is
 * one whose disk refuses writes (it can acknowledge no payment and no message); a missing
 * relay or chain leaves the node useful (direct connections, the API), so those make it
 * `degraded`.
 */
export function assessHealth(inputs: HealthInputs): { status: HealthStatus; reasons: string[] } {
  if (!inputs.running) return { status: 'down', reasons: ['the engine is not running'] }
  const reasons: string[] = []
  const fault = inputs.storeFault
  if (fault) {
    reasons.push(
      `the disk refuses writes to the database since ${new Date(fault.since).toISOString()} (${fault.code}: ${fault.message}): no payment or message is acknowledged until writes work again (free space, or make the disk writable); this resumes by itself`,
    )
  }
  for (const m of inputs.listeners?.missing ?? []) reasons.push(`not listening on ${m.flag} ${m.port} (${m.key}): the port is in use or not allowed`)
  if (inputs.listeners && inputs.listeners.bound === 0) reasons.push('not listening on any address: peers can reach this node only through the relay')
  switch (inputs.relay.state) {
    case 'connecting':
      reasons.push('connecting to the relay: peers behind NAT cannot reach this node yet')
      break
    case 'unavailable':
      reasons.push('the relay is unreachable: only direct connections work; retrying in the background')
      break
    default:
      break
  }
  if (inputs.chain && inputs.chain.state === 'unavailable') {
    reasons.push('the chain service is unreachable: balances may be out of date; retrying')
  }
  for (const p of inputs.channelProblems ?? []) reasons.push(`channel ${p.channelId.slice(0, 8)}…: ${p.message}`)
  reasons.push(...(inputs.messagingProblems ?? []))
  if (inputs.backupProblem) reasons.push(inputs.backupProblem)
  return { status: fault ? 'down' : reasons.length === 0 ? 'ok' : 'degraded', reasons }
}
