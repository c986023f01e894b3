import type { RelayState } from '../../shared/contract/index.js'

/** How others can reach this node: the kinds, best first. */
export type AddressKind = 'direct' | 'relay' | 'local' | 'loopback'
export type OwnReach = 'direct' | 'relay' | 'local' | 'unreachable'

const LOOPBACK = /^\/(ip4\/127\.|ip6\/::1\/|dns4?\/localhost\/)/
const PRIVATE = /^\/(ip4\/(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)|ip6\/(f[cd]|fe[89ab])[0-9a-f]*:)/i

/** Which kind of address this is, for the person reading it. */
export function addressKind(addr: string): AddressKind {
  if (addr.includes('/p2p-circuit')) return 'relay'
  if (LOOPBACK.test(addr)) return 'loopback'
  if (PRIVATE.test(addr)) return 'local'
  return 'direct'
}

export const ADDRESS_KIND_TEXT: Record<AddressKind, string> = { direct: 'Direct', relay: 'Via relay', local: 'Local network', loopback: 'This computer' }

const RANK: Record<AddressKind, number> = { direct: 0, relay: 1, local: 2, loopback: 3 }

/**
 * The address to give someone: one they are most likely to dial from elsewhere (public,
 * then through the relay, then the local network, then this computer), TCP before
 * WebSockets; null when there is none.
 */
export function bestAddress(multiaddrs: readonly string[]): string | null {
  const ranked = [...multiaddrs].sort((a, b) => RANK[addressKind(a)] - RANK[addressKind(b)] || Number(/\/wss?(\/|$)/.test(a)) - Number(/\/wss?(\/|$)/.test(b)))
  return ranked[0] ?? null
}

/** How this node can be reached, in words, from its addresses and its relay's state. */
export function ownReachability(multiaddrs: readonly string[], relay: RelayState): { reach: OwnReach; label: string; detail: string } {
  const kinds = new Set(multiaddrs.map(addressKind))
  if (kinds.has('direct')) return { reach: 'direct', label: 'Reachable directly', detail: relay === 'reserved' ? 'Peers can dial you, and the relay carries those that cannot.' : 'Peers can dial your public address.' }
  if (kinds.has('relay') || relay === 'reserved') return { reach: 'relay', label: 'Reachable through a relay', detail: 'Peers reach you through your relay; connections may then go direct.' }
  if (kinds.has('local')) return { reach: 'local', label: 'Reachable on your local network only', detail: 'Peers elsewhere cannot reach you until a relay is set up (Settings).' }
  if (kinds.has('loopback')) return { reach: 'local', label: 'Reachable from this computer only', detail: 'Peers elsewhere cannot reach you until a relay is set up (Settings).' }
  return { reach: 'unreachable', label: 'Unreachable', detail: 'Your node has no address peers can dial. You can still dial them.' }
}
