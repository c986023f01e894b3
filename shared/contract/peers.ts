import { z } from 'zod'
import { method } from './define.js'

/** A multiaddr as text; parsed and checked again where it is used. */
export const MultiaddrTextSchema = z
  .string()
  .min(2)
  .max(1024)
  .regex(/^\/[A-Za-z0-9_./:%-]+$/, 'must be a multiaddr such as /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo...')

/** A libp2p peer id in its base58 text form (Ed25519 ids start 12D3Koo). */
export const PeerIdTextSchema = z
  .string()
  .min(40)
  .max(128)
  .regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'must be a base58 peer id')

/** How long a call may wait on a peer, in milliseconds; each method documents its default. */
export const TimeoutMsSchema = z.number().int().min(100).max(600_000)

export const ServiceSchema = z.object({
  name: z.string().min(1).max(64),
  /** Price in satoshis; integers only. */
  priceSats: z.number().int().nonnegative().max(2_100_000_000_000_000),
  description: z.string().max(280).optional(),
})
export type Service = z.infer<typeof ServiceSchema>

const PEER_REACHABILITY = ['connected', 'unreachable', 'unknown'] as const

export const PeerSchema = z.object({
  peerId: z.string(),
  name: z.string().optional(),
  services: z.array(ServiceSchema),
  multiaddrs: z.array(z.string()),
  connected: z.boolean(),
  /** How we are connected when connected: direct or through a relay. */
  connection: z.enum(['direct', 'relayed', 'none']),
  /**
   * connected: a connection is open. unreachable: the last attempt to reach it failed (and
   * none succeeded since): payments and closes wait for it, messages are kept for it.
   * unknown: not connected, not tried lately.
   */
  reachability: z.enum(PEER_REACHABILITY),
  /** While unreachable: since when, and why the last attempt failed (in words). */
  unreachable: z.object({ since: z.string(), reason: z.string() }).optional(),
  source: z.enum(['connection', 'discovery', 'announcement', 'mdns', 'manual']),
  lastSeen: z.string(),
  walletIdentityKey: z.string().optional(),
})
export type Peer = z.infer<typeof PeerSchema>

export const peerMethods = {
  listPeers: method('Peers in the bounded directory, most recently seen first.', z.object({}).strict().default({}), z.array(PeerSchema)),
  connectPeer: method(
    'Dial a peer by multiaddr (direct or /p2p-circuit through a relay); `timeoutMs` bounds the dial (default 10 s).',
    z.object({ multiaddr: MultiaddrTextSchema, timeoutMs: TimeoutMsSchema.optional() }).strict(),
    z.object({ peerId: z.string(), connection: z.enum(['direct', 'relayed']) }),
  ),
}

export const peerEvents = {
  peers: z.array(PeerSchema),
}
