import { z } from 'zod'
import { method } from './define.js'

const RELAY_STATES = ['disabled', 'connecting', 'reserved', 'unavailable'] as const
const RelayStateSchema = z.enum(RELAY_STATES)
export type RelayState = z.infer<typeof RelayStateSchema>

const HEALTH_STATUSES = ['ok', 'degraded', 'down'] as const
const HealthStatusSchema = z.enum(HEALTH_STATUSES)
export type HealthStatus = z.infer<typeof HealthStatusSchema>

export const RelayHealthSchema = z.object({
  state: RelayStateSchema,
  /** One entry per configured relay. */
  relays: z.array(
    z.object({
      multiaddr: z.string(),
      state: RelayStateSchema,
      attempts: z.number().int().nonnegative(),
      failures: z.number().int().nonnegative(),
      lastError: z.string().optional(),
      /** Milliseconds until the next dial attempt, when one is scheduled. */
      nextAttemptInMs: z.number().int().nonnegative().optional(),
      reservedSince: z.string().optional(),
    }),
  ),
})

const HealthSchema = z.object({
  status: HealthStatusSchema,
  /** Why the status is not ok, in words a person understands. */
  reasons: z.array(z.string()),
  version: z.string(),
  peerId: z.string(),
  uptimeSeconds: z.number().nonnegative(),
  relay: RelayHealthSchema,
  connections: z.number().int().nonnegative(),
  peers: z.number().int().nonnegative(),
  /** Addresses others can dial, relay circuit addresses included. */
  multiaddrs: z.array(z.string()),
  memory: z.object({ rss: z.number().int().nonnegative(), heapUsed: z.number().int().nonnegative() }),
  /** Added by the wallet and chain part when present. */
  chain: z
    .object({
      state: z.enum(['ok', 'unavailable', 'syncing']),
      height: z.number().int().nonnegative().nullable(),
      network: z.string(),
    })
    .optional(),
  channels: z
    .object({
      open: z.number().int().nonnegative(),
      pending: z.number().int().nonnegative(),
      total: z.number().int().nonnegative(),
    })
    .optional(),
})
export type Health = z.infer<typeof HealthSchema>

const BackupSchema = z.object({
  /** Where it was written (under the data dir's `backups/`). */
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  /** The wallet it holds (its first receive address), or null. */
  wallet: z.string().nullable(),
  ms: z.number().int().nonnegative(),
})

export const ExportedBackupSchema = z.object({
  /** The folder both files were written to. */
  dir: z.string(),
  /** A fresh, checked copy of the database. */
  database: BackupSchema,
  /** The channel backup file (sealed with the wallet's recovery words). */
  channelsFile: z.string(),
  /** Channels in it (those whose coins may be on chain). */
  channels: z.number().int().nonnegative(),
})
export type ExportedBackup = z.infer<typeof ExportedBackupSchema>

const DatabaseCheckSchema = z.object({
  /** No problem found. */
  ok: z.boolean(),
  file: z.string(),
  /** What SQLite found, in its words (at most 20; empty when ok). */
  problems: z.array(z.string()),
  ms: z.number().int().nonnegative(),
})

export const healthMethods = {
  getHealth: method('The engine health snapshot.', z.object({}).strict().default({}), HealthSchema),
  restartNode: method(
    'Stop the node gracefully and start it again with the saved settings; answers once it runs again.',
    z.object({}).strict().default({}),
    z.object({ peerId: z.string(), startedAt: z.string() }),
  ),
  backupDatabase: method(
    'Back the database up now (SQLite online backup, checked before it is kept, in the rotation of backups.keep). Backups are also made every backups.everyMs and on every clean stop; restore one with `--restore-backup` while the node is stopped.',
    z.object({}).strict().default({}),
    BackupSchema,
  ),
  checkDatabase: method(
    "SQLite's thorough check (`integrity_check`) of the running database: every page, record and index. The engine pauses while it reads (about 12 ms per MiB). Damage found is also a health reason until a check finds none; the way out is a backup (`--restore-backup`).",
    z.object({}).strict().default({}),
    DatabaseCheckSchema,
  ),
  exportBackup: method(
    'Write a fresh database backup and the channel backup file into a folder that exists (another disk, a USB stick): the database restores with `--restore-backup`; the channel file with restoreChannelBackup after restoring the wallet from its recovery words. One export at a time: a call for the folder being written shares that export; another folder is answered `unavailable` (details.reason `export-running`) until it ends.',
    z.object({ dir: z.string().min(1).max(4096) }).strict(),
    ExportedBackupSchema,
  ),
}


export const healthEvents = {
  health: HealthSchema,
  /** The node was restarted in place (settings applied): every snapshot is stale. */
  restarted: z.object({ peerId: z.string(), startedAt: z.string() }),
}
