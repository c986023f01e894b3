import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, CODE_P2P_CIRCUIT, multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** A relay address the keeper can use: a direct multiaddr ending in /p2p/<relay id>. */
export function parseRelayAddress(text: string): { addr: Multiaddr; peerId: PeerId } {
  const addr = multiaddr(text)
  const components = addr.getComponents()
  if (components.some((c) => c.code === CODE_P2P_CIRCUIT)) throw new Error('a relay address must not itself go through a relay (/p2p-circuit)')
  const id = components.findLast((c) => c.code === CODE_P2P)?.value
  if (!id) throw new Error('a relay address must end with /p2p/<relay peer id>')
  return { addr, peerId: peerIdFromString(id) }
}

export function isUsableRelayAddress(text: string): boolean {
  try {
    parseRelayAddress(text)
    return true
  } catch {
    return false
  }
}

/** The first useful message of an error (libp2p wraps dial failures in AggregateError). */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0])
  if (err instanceof Error) return err.message || err.name
  return String(err)
}
