/** The gossipsub topic of signed peer announcements; the suffix is the format version. */
export const ANNOUNCE_TOPIC = 'bsv-p2p/announce/1'
export const ANNOUNCEMENT_VERSION = 1

/** Largest announcement accepted (bytes of JSON). */
export const MAX_ANNOUNCEMENT_BYTES = 8 * 1024
export const MAX_ANNOUNCED_SERVICES = 32
export const MAX_ANNOUNCED_RELAY_ADDRS = 8

/** How often a node re-announces itself even when nothing changed. */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 5 * 60 * 1000
/** An announcement older than this is ignored (also bounds replays). */
export const DEFAULT_MAX_AGE_MS = 30 * 60 * 1000
/** An announcement dated further in the future than this is ignored. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 60 * 1000
/** Changes within this window are announced once. */
export const DEFAULT_CHANGE_DEBOUNCE_MS = 500

/** Per-author budget of announcements accepted (token bucket). */
export const DEFAULT_ANNOUNCE_RATE_PER_SEC = 0.2
export const DEFAULT_ANNOUNCE_BURST = 5
/** Authors whose budget and last timestamp are remembered (LRU). */
export const DEFAULT_MAX_TRACKED_AUTHORS = 5_000
