import type { Profile } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface ProfileSlice {
  /** What this node announces to peers; changed from any window through the `profile` event. */
  profile: Profile | null
}

export const profileDomain = defineDomain<ProfileSlice>({
  name: 'profile',
  initial: { profile: null },
  load: async (api) => ({ profile: await api.getProfile() }),
  events: { profile: (profile) => ({ profile }) },
})
