import type { Health } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface HealthSlice {
  health: Health | null
}

export const healthDomain = defineDomain<HealthSlice>({
  name: 'health',
  initial: { health: null },
  load: async (api) => ({ health: await api.getHealth() }),
  events: { health: (health) => ({ health }) },
})
