/** The direct-message protocol; the version changes whenever a frame changes meaning. */
export const MESSAGING_PROTOCOL = '/bsv-p2p/msg/1.0.0'

/** Longest text a message may carry, in UTF-16 code units (what a person types). */
export const MAX_TEXT_CHARS = 16_384

/** Largest frame either side accepts; a bigger length prefix resets the stream. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024

/** Messages written but not yet acknowledged, per peer. */
export const DEFAULT_WINDOW = 256

/** Messages that may wait for a peer (for window space or for its pace) before sends are refused. */
export const DEFAULT_MAX_QUEUED_PER_PEER = 16_384

/** How long sendMessage waits for the peer's acknowledgement before it answers `pending`. */
export const DEFAULT_DEADLINE_MS = 30_000

/** A message kept for a peer that stays away fails after this long (it can be retried). */
export const DEFAULT_PENDING_EXPIRY_MS = 7 * 24 * 3600 * 1000

/** Messages kept for all peers together: the store-and-forward queue's bound. */
export const DEFAULT_MAX_PENDING_TOTAL = 100_000
/** ... and their bytes: they are held in memory while they wait, so this bounds that memory. */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024

/** Pending messages past their expiry are marked failed at most this often. */
export const EXPIRY_SWEEP_MS = 60_000

/** Per-peer inbound budget: steady rate and burst (token bucket). */
export const DEFAULT_RATE_PER_SEC = 200
export const DEFAULT_BURST = 400

/**
 * Invalid frames answered per peer per second; beyond it the stream is reset instead (its
 * sender learns at once), so a flooder cannot make us spend as much writing as it spends sending.
 */
export const DEFAULT_NACK_RATE_PER_SEC = 50

/** Peers whose rate-limit buckets are remembered (LRU). */
export const DEFAULT_MAX_TRACKED_PEERS = 10_000

/** Inbound streams of this protocol per connection: one session plus a retry overlapping it. */
export const DEFAULT_MAX_INBOUND_STREAMS = 4
export const DEFAULT_MAX_OUTBOUND_STREAMS = 4

/** An outbound session with nothing in flight closes its stream after this long. */
export const DEFAULT_IDLE_CLOSE_MS = 60_000

/** Time allowed for one dial + protocol negotiation attempt; a peer not reached within it is away. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000

/** Reopen backoff after a stream or dial failure: base doubling to max, full jitter. */
export const RETRY_BASE_MS = 50
export const RETRY_MAX_MS = 2_000

/** Most message ids one ack frame carries (keeps an ack frame well under the frame limit). */
export const MAX_IDS_PER_ACK = 256

/** Writes collected for one group commit before it is flushed without waiting for the tick. */
export const MAX_COMMIT_BATCH = 2_048

/** Full-text indexing runs this often, in chunks of this many rows, yielding between chunks. */
export const INDEX_INTERVAL_MS = 250
export const INDEX_CHUNK_ROWS = 500
