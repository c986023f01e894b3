import type { Settings } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface SettingsSlice {
  settings: Settings | null
}

export const settingsDomain = defineDomain<SettingsSlice>({
  name: 'settings',
  initial: { settings: null },
  load: async (api) => ({ settings: await api.getSettings() }),
  events: {},
})
