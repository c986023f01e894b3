import { CONTACT_NAME_MAX, contactNameProblem } from '../../shared/contract/index.js'
import { shortPeerId } from './human.js'

/** Where a peer's shown name comes from: the user's contacts, the peer's own announcement, or its id. */
type PeerNameSource = 'contact' | 'announced' | 'id'

export interface PeerNaming {
  name: string
  source: PeerNameSource
}

/**
 * The one precedence for naming a peer: the name the user gave it wins (it is theirs and
 * cannot be spoofed by the peer), else the name it announces, else its short id.
 */
export function peerNaming(peerId: string, contactName: string | undefined, announcedName: string | undefined): PeerNaming {
  if (contactName) return { name: contactName, source: 'contact' }
  if (announcedName) return { name: announcedName, source: 'announced' }
  return { name: shortPeerId(peerId), source: 'id' }
}

/** Why a name typed for a contact cannot be saved, in a sentence, or null when it can (the engine's own rule). */
export function contactNameInputProblem(input: string): string | null {
  const name = input.normalize('NFC').trim()
  if (name === '') return 'Type a name, or cancel.'
  const problem = contactNameProblem(name)
  if (problem === null) return null
  if (name.length > CONTACT_NAME_MAX) return `A name can be at most ${CONTACT_NAME_MAX} characters; this one has ${name.length}.`
  return 'A name cannot hold line breaks, tabs or other invisible control characters.'
}

/** Lookup tables built once per list (the store hands out the same array until it changes). */
const indexes = new WeakMap<readonly object[], Map<string, string>>()

export function nameIndex<T extends { peerId: string; name?: string | null | undefined }>(list: readonly T[]): ReadonlyMap<string, string> {
  let index = indexes.get(list)
  if (!index) {
    index = new Map()
    for (const item of list) if (item.name) index.set(item.peerId, item.name)
    indexes.set(list, index)
  }
  return index
}
