import type { Peer } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

export interface PeersSlice {
  peers: Peer[]
}

export const peersDomain = defineDomain<PeersSlice>({
  name: 'peers',
  initial: { peers: [] },
  load: async (api) => ({ peers: await api.listPeers() }),
  events: { peers: (peers) => ({ peers }) },
})
