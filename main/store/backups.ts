import { chmodSync, copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Counter, Gauge, Histogram } from 'prom-client'
import type { Startable } from '../kit/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { syncFile, syncFolder } from './atomic-file.js'
import { DIR_MODE } from './data-dir.js'
import type { Db } from './database.js'
import { type IntegrityReport, checkIntegrity } from './integrity.js'
import { type SqliteBinding, openSqlite } from './sqlite.js'
import type { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import type { Store } from './store.js'

export interface BackupKeeperInit {
  /** Where backups are kept (default `<data dir>/backups`). */
  dir: string
  /** A second place each backup is copied to (another disk), or null. */
  extraDir?: string | null
  /** How often a backup is made while running (ms). */
  everyMs?: number
  /** Backups kept in each place; the oldest go first. */
  keep?: number
  /** Make one on every clean stop (default true). */
  onStop?: boolean
  /** Whose database this is (the wallet's first address), to name in the backup's check; null when it has none yet. */
  identify?: (db: Db) => string | null
}

export interface BackupKeeperComponents {
  store: Store
  logger: Logger
  metrics: Metrics
  /** Where the copy and its check run (a worker thread); without it, on the engine's thread. */
  jobs?: SqliteWorkerJobs
}

export interface BackupInfo {
  file: string
  bytes: number
  /** The wallet it belongs to (its first address), or null. */
  wallet: string | null
  ms: number
}

const NAME = /^engine-(\d{8}T\d{9}Z)\.sqlite$/

/**
 * Online backups of the database with SQLite's backup API (consistent while the engine
 * writes; never a file copy of a live database): on a schedule and on every clean stop,
 * each written beside its final name, checked (`quick_check`, and whose wallet it holds),
 * flushed and only then renamed into place, kept in a rotation, and copied to a second
 * folder if one is set. The copies, checks and flushes run in a worker thread (`jobs`): on
 * the engine's thread they would pause it about a millisecond per MiB. A failed backup is a
 * warning, a metric and a health reason until one succeeds.
 */
export class BackupKeeper implements Startable {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<BackupInfo> | null = null
  private lastError: { message: string; at: number } | null = null
  private readonly everyMs: number
  private readonly keep: number
  private readonly m: { made: Counter<'result'>; last: Gauge; seconds: Histogram }

  constructor(
    private readonly components: BackupKeeperComponents,
    private readonly init: BackupKeeperInit,
  ) {
    this.everyMs = init.everyMs ?? 3_600_000
    this.keep = Math.max(1, init.keep ?? 24)
    const metrics = components.metrics
    this.m = {
      made: metrics.counter({ name: 'backups_total', help: 'Database backups made, by result', labelNames: ['result'] }),
      last: metrics.gauge({ name: 'backup_last_success_timestamp_seconds', help: 'When the last good backup was made (unix seconds; 0: none since start)' }),
      seconds: metrics.histogram({ name: 'backup_seconds', help: 'Time to write and check one backup', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120] }),
    }
  }

  async start(): Promise<void> {
    if (this.timer) return
    // A backup cut short (a stop that overran its deadline, a crash) leaves its partial file.
    for (const dir of [this.init.dir, this.init.extraDir]) if (dir) for (const stale of partialsIn(dir)) rmSync(stale, { force: true })
    this.timer = setInterval(() => void this.backupNow('schedule').catch(() => {}), this.everyMs)
    this.timer.unref?.()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.running?.catch(() => {})
    if (this.init.onStop !== false && this.components.store.isOpen) await this.backupNow('stop').catch(() => {})
  }

  /** Why the last backup failed, for health; null once one succeeds. */
  problem(): string | null {
    return this.lastError ? `the last database backup failed at ${new Date(this.lastError.at).toISOString()}: ${this.lastError.message}; retrying on schedule` : null
  }

  /** One backup now (joined by a call while one runs). */
  backupNow(reason: 'schedule' | 'stop' | 'request'): Promise<BackupInfo> {
    this.running ??= this.make(reason).finally(() => {
      this.running = null
    })
    return this.running
  }

  private async make(reason: string): Promise<BackupInfo> {
    const started = performance.now()
    try {
      const info = await this.write(this.init.dir)
      if (this.init.extraDir) await this.copyTo(info.file, this.init.extraDir)
      this.lastError = null
      this.m.made.inc({ result: 'ok' })
      this.m.last.set(Date.now() / 1000)
      this.m.seconds.observe((performance.now() - started) / 1000)
      this.components.logger.info('database backed up', { reason, file: info.file, bytes: info.bytes, ms: info.ms })
      return info
    } catch (err) {
      this.lastError = { message: (err as Error).message.slice(0, 300), at: Date.now() }
      this.m.made.inc({ result: 'failed' })
      this.components.logger.warn('database backup failed', { reason, err })
      throw err
    }
  }

  private async write(dir: string): Promise<BackupInfo> {
    const started = performance.now()
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
    const name = `engine-${stamp(new Date())}.sqlite`
    const file = join(dir, name)
    const partial = `${file}.partial`
    rmSync(partial, { force: true })
    try {
      const { store, jobs } = this.components
      const off = await jobs?.run({ kind: 'backup', source: store.file, target: partial, ...store.binding })
      if (off) mustCheckOut(partial, off.report)
      else {
        // No worker: the engine's own connection, a hundred pages a turn (a copy from any
        // other connection on this thread would hold the thread for the whole file). A
        // worker that died part way may have left part of a file.
        rmSync(partial, { force: true })
        await store.db.backup(partial)
        // A plain rollback-journal file: it opens alone, with no -wal or -shm beside it.
        const plain = openSqlite(partial, store.binding)
        try {
          plain.pragma('journal_mode = DELETE')
        } finally {
          plain.close()
        }
        checkBackup(partial, store.binding)
        syncFile(partial)
      }
      const wallet = identifyBackup(partial, this.init.identify, store.binding)
      renameSync(partial, file)
      syncFolder(dir)
      await this.rotate(dir)
      const bytes = statSync(file).size
      return { file, bytes, wallet, ms: Math.round(performance.now() - started) }
    } catch (err) {
      rmSync(partial, { force: true })
      throw err
    }
  }

  private async copyTo(file: string, dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
    await this.copyOut(file, join(dir, basename(file)))
    await this.rotate(dir)
  }

  /**
   * A backup copied to `target` whole or not at all: beside it first, checked and flushed
   * (in the worker thread: a large file's copy would hold the engine), then renamed over it.
   */
  async copyOut(file: string, target: string): Promise<void> {
    const partial = `${target}.partial`
    try {
      const { store, jobs } = this.components
      const off = await jobs?.run({ kind: 'copy', source: file, target: partial, ...store.binding })
      if (off) mustCheckOut(partial, off.report)
      else {
        copyFileSync(file, partial)
        checkBackup(partial, store.binding)
        syncFile(partial)
      }
      chmodSync(partial, 0o600)
      renameSync(partial, target)
    } catch (err) {
      rmSync(partial, { force: true })
      throw err
    }
    syncFolder(dirname(target))
  }

  /** Off the engine's thread too: freeing a large file's blocks takes tens of milliseconds. */
  private async rotate(dir: string): Promise<void> {
    const backups = listBackups(dir)
    for (const old of backups.slice(this.keep)) await rm(old, { force: true })
  }
}

function partialsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.startsWith('engine-') && n.endsWith('.sqlite.partial'))
      .map((n) => join(dir, n))
  } catch {
    return []
  }
}

/** The backups in `dir`, newest first. */
export function listBackups(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .filter((n) => NAME.test(n))
    .sort()
    .reverse()
    .map((n) => join(dir, n))
}

/** A backup file is sound (`quick_check`); returns whose wallet it holds (or null). Throws when it is not. */
export function verifyBackup(file: string, identify?: (db: Db) => string | null, binding: SqliteBinding = {}): string | null {
  checkBackup(file, binding)
  return identifyBackup(file, identify, binding)
}

function checkBackup(file: string, binding: SqliteBinding): void {
  const db = openSqlite(file, { readonly: true, fileMustExist: true, ...binding })
  try {
    mustCheckOut(file, checkIntegrity(db, 'quick'))
  } finally {
    db.close()
  }
}

function mustCheckOut(file: string, report: IntegrityReport): void {
  if (!report.ok) throw new Error(`the backup ${file} does not check out: ${report.problems.slice(0, 3).join('; ')}`)
}

/** Whose wallet a checked backup holds: one small read. */
function identifyBackup(file: string, identify: ((db: Db) => string | null) | undefined, binding: SqliteBinding): string | null {
  if (!identify) return null
  const db = openSqlite(file, { readonly: true, fileMustExist: true, ...binding })
  try {
    return identify(db)
  } finally {
    db.close()
  }
}

function stamp(d: Date): string {
  // 20261203T211500123Z: sorts by time as text, safe in every file system.
  return d.toISOString().replace(/[-:.]/g, '')
}
