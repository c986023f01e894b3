import type { ApiHandlers } from '../../shared/contract/index.js'
import type { P2PNode } from './node.js'

export function peerHandlers(node: P2PNode): Pick<ApiHandlers, 'listPeers' | 'connectPeer'> {
  return {
    listPeers: async () => node.listPeers(),
    connectPeer: async ({ multiaddr, timeoutMs }) => node.connect(multiaddr, timeoutMs),
  }
}
