import type { ReactElement } from 'react'
import { HEALTH_TEXT } from '../human.js'
import { liveness } from '../store/app-store.js'
import { useAppState } from './app-context.js'

/**
 * The one glance: health in a word, or the link to the wallet service when that is what is
 * wrong (a node that cannot be reached is never shown as healthy). data-status / data-relay
 * are the e2e readiness hooks.
 */
export function HealthBadge(): ReactElement {
  const health = useAppState((s) => s.health)
  const live = useAppState(liveness)
  const status = live === 'live' || live === 'down' ? (health?.status ?? 'unknown') : live === 'connecting' ? 'unknown' : live
  return (
    <span className={`badge badge-${status}`} data-testid="health-badge" data-status={status} data-relay={health?.relay.state ?? 'unknown'} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {HEALTH_TEXT[status].label}
    </span>
  )
}
