import { type ReactElement, useCallback } from 'react'
import { type PeerNaming, nameIndex, peerNaming } from '../contact-text.js'
import { useAppState } from './app-context.js'

/**
 * How a peer is named, and where the name comes from: the name the user gave it in
 * Contacts, else the name it announces, else its short id. Every view (peers, channels,
 * messages, history) names peers through here, so a contact's name shows everywhere at once.
 */
export function usePeerNaming(peerId: string): PeerNaming & { announced: string | undefined } {
  const contact = useAppState((s) => nameIndex(s.contacts).get(peerId))
  const announced = useAppState((s) => nameIndex(s.peers).get(peerId))
  return { ...peerNaming(peerId, contact, announced), announced }
}

export function usePeerName(peerId: string): string {
  return usePeerNaming(peerId).name
}

/** A function naming any peer, for lists and sentences about many peers (it changes when a name does). */
export function usePeerNamer(): (peerId: string) => string {
  const contacts = useAppState((s) => s.contacts)
  const peers = useAppState((s) => s.peers)
  return useCallback((peerId: string) => peerNaming(peerId, nameIndex(contacts).get(peerId), nameIndex(peers).get(peerId)).name, [contacts, peers])
}

export function PeerName({ peerId }: { peerId: string }): ReactElement {
  const { name, source } = usePeerNaming(peerId)
  return (
    <span className="peer-name" title={peerId} data-peer-name={peerId} data-name-source={source}>
      {name}
    </span>
  )
}
