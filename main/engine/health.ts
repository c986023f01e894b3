import type { Health, HealthStatus } from '../../shared/contract/index.js'

export interface HealthInputs {
  running: boolean
  relay: Health['relay']
  chain?: Health['chain']
  /** Channel problems that can cost money if nobody looks (a failing settlement, a lying peer). */
  channelProblems?: readonly { channelId: string; message: string }[]
}

/**
 * Pure: the status and the reasons a person reads. Only a stopped engine is `down`;
 * a missing relay or chain leaves the node useful (direct connections, the API), so those
 * make it `degraded`.
 */
export function assessHealth(inputs: HealthInputs): { status: HealthStatus; reasons: string[] } {
  if (!inputs.running) return { status: 'down', reasons: ['the engine is not running'] }
  const reasons: string[] = []
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
  return { status: reasons.length === 0 ? 'ok' : 'degraded', reasons }
}
