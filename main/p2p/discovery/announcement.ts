import { z } from 'zod'
import { MultiaddrTextSchema, PeerIdTextSchema, type Peer, ServiceSchema } from '../../../shared/contract/index.js'
import { ANNOUNCEMENT_VERSION, MAX_ANNOUNCED_RELAY_ADDRS, MAX_ANNOUNCED_SERVICES, MAX_ANNOUNCEMENT_BYTES } from './constants.js'

/** A compressed secp256k1 public key in hex: the wallet's identity key. */
const IdentityKeySchema = z.string().regex(/^0[23][0-9a-f]{64}$/, 'must be a compressed public key in hex')

const AnnouncementSchema = z.strictObject({
  v: z.literal(ANNOUNCEMENT_VERSION),
  /** Must equal the gossipsub author (the key that signed the message). */
  peerId: PeerIdTextSchema,
  name: z.string().min(1).max(64).optional(),
  services: z.array(ServiceSchema.strict()).max(MAX_ANNOUNCED_SERVICES),
  /** Where the author can be reached through a relay: .../p2p-circuit/p2p/<peerId>. */
  relayAddrs: z.array(MultiaddrTextSchema).max(MAX_ANNOUNCED_RELAY_ADDRS),
  walletIdentityKey: IdentityKeySchema.optional(),
  /** When the author made it (ms since the epoch). */
  ts: z.number().int().nonnegative(),
})
export type Announcement = z.infer<typeof AnnouncementSchema>

/** What an accepted announcement tells the peer directory. */
export type AnnouncedPeer = Pick<Peer, 'peerId' | 'services' | 'multiaddrs' | 'source'> & Partial<Pick<Peer, 'name' | 'walletIdentityKey'>>

export type AnnouncementVerdict =
  | { ok: true; announcement: Announcement }
  /** reject: provably bad (forged, malformed): gossipsub drops it and penalises the forwarder. ignore: just not useful now. */
  | { ok: false; action: 'reject' | 'ignore'; reason: AnnouncementRefusal }

export type AnnouncementRefusal = 'unsigned' | 'too_large' | 'malformed' | 'forged_peer_id' | 'foreign_relay_addr' | 'stale' | 'future' | 'rate_limited' | 'replayed'

export interface AnnouncementCheck {
  now: number
  maxAgeMs: number
  maxFutureSkewMs: number
}

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/**
 * Pure: is this gossipsub message an acceptable announcement by its author? The author
 * (`from`) is the peer whose key signed the message (StrictSign); an announcement about
 * any other peer id is a forgery and is rejected, as is a relay address that leads to
 * anyone but the author.
 */
export function checkAnnouncement(data: Uint8Array, from: string | null, check: AnnouncementCheck): AnnouncementVerdict {
  if (from === null) return { ok: false, action: 'reject', reason: 'unsigned' }
  if (data.byteLength > MAX_ANNOUNCEMENT_BYTES) return { ok: false, action: 'reject', reason: 'too_large' }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(data))
  } catch {
    return { ok: false, action: 'reject', reason: 'malformed' }
  }
  const parsed = AnnouncementSchema.safeParse(json)
  if (!parsed.success) return { ok: false, action: 'reject', reason: 'malformed' }
  const a = parsed.data
  if (a.peerId !== from) return { ok: false, action: 'reject', reason: 'forged_peer_id' }
  const suffix = `/p2p-circuit/p2p/${from}`
  if (a.relayAddrs.some((addr) => !addr.endsWith(suffix))) return { ok: false, action: 'reject', reason: 'foreign_relay_addr' }
  if (a.ts > check.now + check.maxFutureSkewMs) return { ok: false, action: 'ignore', reason: 'future' }
  if (a.ts < check.now - check.maxAgeMs) return { ok: false, action: 'ignore', reason: 'stale' }
  return { ok: true, announcement: a }
}

export function encodeAnnouncement(a: Announcement): Uint8Array {
  return encoder.encode(JSON.stringify(AnnouncementSchema.parse(a)))
}

export function toAnnouncedPeer(a: Announcement): AnnouncedPeer {
  // An announcement is the author's whole self-description: what it leaves out, it no longer claims.
  return { peerId: a.peerId, services: a.services, multiaddrs: a.relayAddrs, source: 'announcement', name: a.name, walletIdentityKey: a.walletIdentityKey }
}
