import type { Settings } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface SettingsSlice {
  /** What the node runs with and what its next start will use; the `settings` event carries it whole. */
  settings: Settings | null
}

export const settingsDomain = defineDomain<SettingsSlice>({
  name: 'settings',
  initial: { settings: null },
  load: async (api) => ({ settings: await api.getSettings() }),
  events: { settings: (settings) => ({ settings }) },
})
