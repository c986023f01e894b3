import { multiaddr } from '@multiformats/multiaddr'
import { MultiaddrTextSchema, PeerIdTextSchema } from '../../shared/contract/index.js'

export const EXAMPLE_ADDRESS = '/ip4/203.0.113.5/tcp/4001/p2p/12D3KooW…'
const DIALABLE_FIRST = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'])

/**
 * Why a peer address cannot be dialled, in one sentence, or null when it can. The peer's
 * id must be part of it, so the connection is authenticated against the peer meant.
 */
export function peerAddressProblem(input: string): string | null {
  const text = input.trim()
  if (text === '') return 'Enter the peer’s address.'
  if (!text.startsWith('/')) return `A peer address starts with “/”, for example ${EXAMPLE_ADDRESS}`
  if (!MultiaddrTextSchema.safeParse(text).success) return `That is not a peer address. It looks like ${EXAMPLE_ADDRESS}`
  let components: { name: string; value?: string }[]
  try {
    components = multiaddr(text).getComponents()
  } catch (err) {
    const why = (err as Error).message.replace(/\.$/, '')
    return `That address cannot be read: ${why}.`
  }
  const first = components[0]
  if (!first || !DIALABLE_FIRST.has(first.name)) return 'The address must begin with the peer’s host, such as /ip4/…, /ip6/… or /dns/….'
  const last = components[components.length - 1]
  if (last?.name !== 'p2p' || !last.value) return 'Add the peer’s ID at the end: …/p2p/12D3KooW…'
  if (!PeerIdTextSchema.safeParse(last.value).success) return 'The peer ID at the end of the address is not valid.'
  return null
}

/** The peer ids of relays: the last /p2p/ of each relay address. */
export function relayPeerIds(multiaddrs: readonly string[]): Set<string> {
  return new Set(multiaddrs.map((m) => m.split('/p2p/').pop() ?? '').filter(Boolean))
}
