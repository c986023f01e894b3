import type { ReactElement } from 'react'
import { shortPeerId } from '../human.js'
import { useAppState } from './app-context.js'

/**
 * The one way a peer is named on screen: the name the user gave it in Contacts, else the
 * name it announces, else its short id. Every view (peers, channels, messages, history,
 * notifications) names peers through here, so a contact's name shows everywhere at once.
 */
export function usePeerName(peerId: string): string {
  const announced = useAppState((s) => s.peers.find((p) => p.peerId === peerId)?.name)
  return announced ?? shortPeerId(peerId)
}

export function PeerName({ peerId }: { peerId: string }): ReactElement {
  const name = usePeerName(peerId)
  return (
    <span className="peer-name" title={peerId} data-peer-name={peerId}>
      {name}
    </span>
  )
}
