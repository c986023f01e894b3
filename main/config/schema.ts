import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { DEFAULT_LIMITS, LOG_LEVELS, LimitsSchema } from '../../shared/contract/index.js'

const port = z.number().int().min(0).max(65535)
const positiveInt = z.number().int().positive()

const NETWORKS = ['mainnet', 'testnet', 'devnet'] as const
export type Network = (typeof NETWORKS)[number]

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(base, 'bsv-p2p-wallet')
}

/**
 * The engine's whole configuration, every field with its default. Objects are strict so a
 * misspelt key is an error naming it, never silently ignored.
 */
export const EngineConfigSchema = z
  .object({
    dataDir: z.string().min(1).default(defaultDataDir),
    network: z.enum(NETWORKS).default('mainnet'),
    /** Overrides the network's default chain service (ARC / WhatsOnChain / devnet URL). */
    chainUrl: z.url().optional(),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Mirror the JSON log lines to stderr (the daemon does; the desktop app does not). */
    logToConsole: z.boolean().default(false),
    p2p: z
      .object({
        /** Listen host for TCP and WebSockets. */
        host: z.string().min(1).default('0.0.0.0'),
        /** TCP port; 0 picks a free one. */
        port: port.default(4001),
        /** WebSocket listener's port (for browser peers); null: no WebSocket listener; 0: any free port. */
        wsPort: port.nullable().default(null),
        /**
         * A P2P listener that cannot bind stops start-up (the default); true: the node runs
         * without it, health is `degraded` and says which.
         */
        listenBestEffort: z.boolean().default(false),
        /** Circuit relays to keep a reservation on, as full multiaddrs with /p2p/<id>. */
        relays: z.array(z.string().min(2).max(1024)).max(16).default([]),
        mdns: z.boolean().default(true),
        /** Extra addresses to announce (e.g. a public IP behind port forwarding). */
        announce: z.array(z.string().min(2).max(1024)).max(16).default([]),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** Loopback unless told otherwise: the API moves money. */
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(4002),
        maxBodyBytes: positiveInt.max(16 * 1024 * 1024).default(1024 * 1024),
        /** Connections served at once (a browser holds about 6 and one WebSocket); more wait their turn. */
        maxConnections: positiveInt.max(100_000).default(256),
        /** Connections that may wait for a turn (up to 5 s each); past it, and past 5 s, a connection is answered 503 with Retry-After. */
        maxWaitingConnections: positiveInt.max(100_000).default(1024),
        /** Browser origins allowed besides the API's own (the web UI is same-origin). */
        allowedOrigins: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    /** Shared with the contract's updateSettings, so both check limits alike. */
    limits: LimitsSchema.partial()
      .transform((set) => ({ ...DEFAULT_LIMITS, ...set }))
      .prefault({}),
    relayKeeper: z
      .object({
        /** First retry delay; doubles per failure up to maxDelayMs, with full jitter. */
        baseDelayMs: positiveInt.default(250),
        /** Cap of the backoff: bounds both the attempt rate and the recovery time. */
        maxDelayMs: positiveInt.default(2000),
        dialTimeoutMs: positiveInt.default(5000),
        /** Consecutive failures after which the breaker opens and logging goes quiet. */
        breakerThreshold: positiveInt.default(5),
        /** How often a reservation is checked even without events. */
        checkIntervalMs: positiveInt.default(5000),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** How often a `health` event is pushed when something changed. */
        intervalMs: positiveInt.default(2000),
      })
      .strict()
      .prefault({}),
    /** The wallet; its passphrase is never in config (the daemon reads --passphrase-file or BSV_P2P_PASSPHRASE). */
    wallet: z
      .object({
        /** Fee rate of our sends; BSV miners take 1-100 sat/kB. */
        feeRateSatsPerKb: z.number().int().min(1).max(100_000).default(100),
        /** How often UTXOs are synced from the chain service. */
        syncIntervalMs: positiveInt.min(500).default(10_000),
        /** Unused addresses watched beyond the last used one, per chain (restore finds coins within it). */
        gapLimit: positiveInt.max(1000).default(10),
      })
      .strict()
      .prefault({}),
    chain: z
      .object({
        /** How often the chain height is polled for health. */
        pollIntervalMs: positiveInt.min(500).default(10_000),
        /** Per HTTP attempt to ARC / WhatsOnChain. */
        timeoutMs: positiveInt.default(10_000),
        /** Extra attempts on network errors and 5xx (never on a refusal). */
        retries: z.number().int().min(0).max(10).default(2),
        /** ARC's bearer token (mainnet ARC endpoints want one); never shown by getSettings. */
        arcApiKey: z.string().min(1).max(1024).optional(),
        /** WhatsOnChain's API key (raises its rate limits); never shown by getSettings. */
        wocApiKey: z.string().min(1).max(1024).optional(),
      })
      .strict()
      .prefault({}),
    /** Payment channels (main/channels). */
    channels: z
      .object({
        /** Incoming channels up to this capacity are accepted at once; larger ones wait for acceptChannel. */
        autoAcceptMaxSats: z.number().int().min(0).max(2_100_000_000_000_000).default(10_000_000),
        /**
         * Confirmations of a channel's funding before the payee accepts payments on it
         * (default 1 on mainnet, where 0 is refused, and 0 on testnet and devnet).
         */
        minFundingConfirmations: z.number().int().min(0).max(100).optional(),
        /** Channels up to this capacity may open with an unconfirmed funding: a bounded, chosen risk (default 0 on mainnet). */
        zeroConfMaxSats: z.number().int().min(0).max(2_100_000_000_000_000).optional(),
        /** Channels a single peer may have proposed to us that are not funded yet. */
        maxPendingProposalsPerPeer: positiveInt.max(10_000).default(8),
        /** Channels all peers together may have proposed to us that are not funded yet. */
        maxPendingProposals: positiveInt.max(100_000).default(256),
        /** An unfunded proposal (or a funding the chain never shows) is dropped after this long. */
        proposalTimeoutMs: positiveInt.min(1_000).max(7 * 24 * 3_600_000).default(30 * 60_000),
        /** Lifetime of a new channel in blocks (its refund's lock height is now + this). */
        expiryBlocks: positiveInt.max(52_560).default(144),
        /** The payee settles this many blocks before expiry. */
        closeMarginBlocks: positiveInt.max(1000).default(6),
        /** Fee rate of channel transactions (both sides must agree; the payee requires at least this). */
        feeRateSatsPerKb: z.number().int().min(1).max(100_000).default(100),
        /** Signed payments in flight per channel. */
        window: positiveInt.max(1024).default(32),
        /** How often channels are checked against the chain. */
        chainPollMs: positiveInt.min(100).default(5_000),
        /** Before a payment, an open or a close: how long reaching a peer that is not connected may take before the call answers `unavailable`. */
        reachTimeoutMs: positiveInt.min(100).max(60_000).default(3_000),
        /**
         * The channel backup file takes a payee's newest settlement at most this long after it
         * was acknowledged: payments acknowledged in the last interval before a lost disk are
         * the most a payee can lose (changes of state are written at once).
         */
        backupEveryMs: positiveInt.min(100).max(60_000).default(2_000),
      })
      .strict()
      .prefault({}),
    /** The engine's database connection. */
    database: z
      .object({
        /**
         * SQLite's page cache, in MiB: the process's memory holds up to this much of the
         * database once it has been read (better-sqlite3's build: 16). Lower it to run many
         * daemons on one machine.
         */
        cacheMiB: positiveInt.max(1024).default(16),
      })
      .strict()
      .prefault({}),
    /** Online backups of the database (SQLite's backup API), under `<data dir>/backups`. */
    backups: z
      .object({
        /** How often a backup is made while running (a backup is also made on every clean stop). */
        everyMs: positiveInt.min(1_000).max(7 * 24 * 3_600_000).default(3_600_000),
        /** Backups kept in each place; the oldest go first. */
        keep: positiveInt.max(10_000).default(10),
        /** A second folder (another disk) each backup is copied to; null for none. */
        extraDir: z.string().min(1).max(4096).nullable().default(null),
        /** Make a backup on every clean stop. */
        onStop: z.boolean().default(true),
        /** How long the stop's backup (and one still running when the stop came) may take before it is given up, so a large database cannot push the stop past its deadline; the newest earlier backup stands. */
        stopBudgetMs: positiveInt.min(100).max(600_000).default(2_000),
      })
      .strict()
      .prefault({}),
    /** Direct messages (main/p2p/messaging): per-peer inbound budget and delivery bounds. */
    messaging: z
      .object({
        /** Messages per second each peer may send us (token bucket rate). */
        ratePerSec: positiveInt.max(1_000_000).default(200),
        /** Messages a peer may send at once before the rate applies. */
        burst: positiveInt.max(1_000_000).default(400),
        /** Largest frame accepted or sent. */
        maxFrameBytes: positiveInt.min(17_216).max(1024 * 1024).default(64 * 1024),
        /** How long sendMessage waits for the peer's acknowledgement before answering `pending` (the message is kept and sent later). */
        deadlineMs: positiveInt.max(600_000).default(30_000),
        /** Unacknowledged messages per peer. */
        window: positiveInt.max(65_536).default(256),
        /** A message not delivered within this long (the peer away) becomes failed; it can be retried. Default 7 days. */
        pendingExpiryMs: positiveInt.min(1_000).max(365 * 24 * 3600 * 1000).default(7 * 24 * 3600 * 1000),
        /** Messages waiting for all peers together; beyond it sendMessage answers rate_limited. */
        maxPendingTotal: positiveInt.max(10_000_000).default(100_000),
        /** Bytes of the messages waiting for all peers together (held in memory while they wait); beyond it sendMessage answers rate_limited. */
        maxPendingBytes: positiveInt.min(1024 * 1024).max(16 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type EngineConfig = z.output<typeof EngineConfigSchema>

/** The command-line flag of each port key, so a message names what a person typed. */
const PORT_FLAGS = { 'p2p.port': '--p2p-port', 'p2p.wsPort': '--ws-port', 'api.port': '--api-port' } as const
export type PortKey = keyof typeof PORT_FLAGS

/** The ports this config asks to listen on (0, "any free port", never clashes), with their keys and flags. */
export function requestedPorts(config: EngineConfig): { key: PortKey; flag: string; host: string; port: number }[] {
  const out: { key: PortKey; flag: string; host: string; port: number }[] = [{ key: 'p2p.port', flag: PORT_FLAGS['p2p.port'], host: config.p2p.host, port: config.p2p.port }]
  if (config.p2p.wsPort !== null) out.push({ key: 'p2p.wsPort', flag: PORT_FLAGS['p2p.wsPort'], host: config.p2p.host, port: config.p2p.wsPort })
  out.push({ key: 'api.port', flag: PORT_FLAGS['api.port'], host: config.api.host, port: config.api.port })
  return out.filter((p) => p.port !== 0)
}

/**
 * Rules across keys, checked on the final merged config only (a single layer may leave the
 * network to another). Returns the first broken rule's key and why.
 */
export function crossKeyProblem(config: EngineConfig): { path: string; message: string } | null {
  if (config.network === 'mainnet' && config.channels.minFundingConfirmations === 0) {
    return { path: 'channels.minFundingConfirmations', message: 'must be at least 1 on mainnet (a payee on mainnet waits for its funding to be mined; channels.zeroConfMaxSats bounds any 0-conf risk you choose)' }
  }
  const ports = requestedPorts(config)
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      const a = ports[i]!
      const b = ports[j]!
      if (a.port === b.port) return { path: b.key, message: `${b.flag} ${b.port} is also ${a.flag} (${b.key} and ${a.key} must differ)` }
    }
  }
  return null
}
