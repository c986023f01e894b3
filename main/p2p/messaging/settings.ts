import type { EngineConfig } from '../../config/index.js'
import {
  DEFAULT_BURST,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_PENDING_BYTES,
  DEFAULT_MAX_PENDING_TOTAL,
  DEFAULT_PENDING_EXPIRY_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_IDLE_CLOSE_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_QUEUED_PER_PEER,
  DEFAULT_MAX_TRACKED_PEERS,
  DEFAULT_NACK_RATE_PER_SEC,
  DEFAULT_RATE_PER_SEC,
  DEFAULT_WINDOW,
  MAX_IDS_PER_ACK,
} from './constants.js'

export interface MessagingInit {
  /** Largest frame accepted or sent (bytes). Default 64 KiB. */
  maxFrameBytes?: number
  /** Per-peer inbound budget. Default 200 msgs/s, burst 400. */
  rateLimit?: { ratePerSec?: number; burst?: number }
  /** Refusals answered per peer per second; the rest are dropped silently. Default 50. */
  nackRatePerSec?: number
  /** How long sendMessage waits for the peer's acknowledgement before answering `pending` (ms). Default 30 s. */
  deadlineMs?: number
  /** A message not delivered within this long becomes failed (ms). Default 7 days. */
  pendingExpiryMs?: number
  /** Messages waiting for all peers together before sends are refused. Default 100,000. */
  maxPendingTotal?: number
  /** Bytes of the messages waiting for all peers together (they are held in memory) before sends are refused. Default 256 MiB. */
  maxPendingBytes?: number
  /** Unacknowledged messages per peer. Default 256. */
  window?: number
  /** Messages waiting for window space per peer before sends are refused. Default 16,384. */
  maxQueuedPerPeer?: number
  /** Peers whose rate-limit state is remembered (LRU). Default 10,000. */
  maxTrackedPeers?: number
  /** Inbound streams of the protocol per connection. Default 4. */
  maxInboundStreams?: number
  /** Idle outbound sessions close their stream after this long (ms). Default 60 s. */
  idleCloseMs?: number
  /** One dial + negotiation attempt (ms); a peer not reached within it is away (messages wait). Default 5 s. */
  dialTimeoutMs?: number
}

export type ResolvedMessagingInit = Required<Omit<MessagingInit, 'rateLimit'>> & { rateLimit: { ratePerSec: number; burst: number } }

export class MessagingConfigError extends Error {
  override readonly name = 'MessagingConfigError'
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new MessagingConfigError(`${name} must be a positive integer, got ${value}`)
  return value
}

/** Every setting with its default, checked once; nonsense throws MessagingConfigError. */
export function resolveMessagingInit(init: MessagingInit = {}): ResolvedMessagingInit {
  const resolved: ResolvedMessagingInit = {
    maxFrameBytes: positiveInt('maxFrameBytes', init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
    rateLimit: {
      ratePerSec: positiveInt('rateLimit.ratePerSec', init.rateLimit?.ratePerSec ?? DEFAULT_RATE_PER_SEC),
      burst: positiveInt('rateLimit.burst', init.rateLimit?.burst ?? DEFAULT_BURST),
    },
    nackRatePerSec: positiveInt('nackRatePerSec', init.nackRatePerSec ?? DEFAULT_NACK_RATE_PER_SEC),
    deadlineMs: positiveInt('deadlineMs', init.deadlineMs ?? DEFAULT_DEADLINE_MS),
    pendingExpiryMs: positiveInt('pendingExpiryMs', init.pendingExpiryMs ?? DEFAULT_PENDING_EXPIRY_MS),
    maxPendingTotal: positiveInt('maxPendingTotal', init.maxPendingTotal ?? DEFAULT_MAX_PENDING_TOTAL),
    maxPendingBytes: positiveInt('maxPendingBytes', init.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES),
    window: positiveInt('window', init.window ?? DEFAULT_WINDOW),
    maxQueuedPerPeer: positiveInt('maxQueuedPerPeer', init.maxQueuedPerPeer ?? DEFAULT_MAX_QUEUED_PER_PEER),
    maxTrackedPeers: positiveInt('maxTrackedPeers', init.maxTrackedPeers ?? DEFAULT_MAX_TRACKED_PEERS),
    maxInboundStreams: positiveInt('maxInboundStreams', init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS),
    idleCloseMs: positiveInt('idleCloseMs', init.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS),
    dialTimeoutMs: positiveInt('dialTimeoutMs', init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS),
  }
  // An ack frame holds up to MAX_IDS_PER_ACK ids of up to 64 characters.
  if (resolved.maxFrameBytes < MAX_IDS_PER_ACK * 67 + 64) throw new MessagingConfigError(`maxFrameBytes must be at least ${MAX_IDS_PER_ACK * 67 + 64}`)
  return resolved
}

/** The engine config's `messaging` block as MessagingInit. */
export function messagingInitFromConfig(config: Pick<EngineConfig, 'messaging'>): MessagingInit {
  const m = config.messaging
  return { rateLimit: { ratePerSec: m.ratePerSec, burst: m.burst }, maxFrameBytes: m.maxFrameBytes, deadlineMs: m.deadlineMs, window: m.window, pendingExpiryMs: m.pendingExpiryMs, maxPendingTotal: m.maxPendingTotal, maxPendingBytes: m.maxPendingBytes }
}
