import type { Profile, Settings } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface SettingsSlice {
  settings: Settings | null
  /** What this node announces to peers; changed from any window through the `profile` event. */
  profile: Profile | null
}

export const settingsDomain = defineDomain<SettingsSlice>({
  name: 'settings',
  initial: { settings: null, profile: null },
  load: async (api) => {
    const [settings, profile] = await Promise.all([api.getSettings(), api.getProfile()])
    return { settings, profile }
  },
  events: { profile: (profile) => ({ profile }) },
  // An update seen while the snapshot loaded is newer than the snapshot's profile.
  merge: (snapshot, state) => ({ settings: snapshot.settings ?? state.settings }),
})
