import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { LRUCache } from 'lru-cache'

/**
 * Peer ids as text, parsed once. A parse is a base58 decode plus a key decode, and a PeerId
 * made fresh base58-encodes its text again on its first toString(): about 9 µs in all, paid
 * on every message sent when each send parsed its peer id (a tenth of a pipelined message's
 * cost). A PeerId is immutable, so one parse serves every later send to that peer. Only
 * parses that succeed are kept, and the cache is bounded: a caller sending to many new ids
 * only evicts.
 */
const parsed = new LRUCache<string, PeerId>({ max: 4096 })

/** The PeerId of `text`; throws what `peerIdFromString` throws for text that is not one. */
export function parsePeerId(text: string): PeerId {
  let id = parsed.get(text)
  if (id === undefined) {
    id = peerIdFromString(text)
    id.toString() // computed once here, cached on the object
    parsed.set(text, id)
  }
  return id
}
