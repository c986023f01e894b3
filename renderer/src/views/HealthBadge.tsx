import type { ReactElement } from 'react'
import { HEALTH_TEXT } from '../human.js'
import { useAppState } from './app-context.js'

/** The one glance: health in a word. data-status / data-relay are the e2e readiness hooks. */
export function HealthBadge(): ReactElement {
  const health = useAppState((s) => s.health)
  const status = health?.status ?? 'unknown'
  return (
    <span className={`badge badge-${status}`} data-testid="health-badge" data-status={status} data-relay={health?.relay.state ?? 'unknown'} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {HEALTH_TEXT[status].label}
    </span>
  )
}
