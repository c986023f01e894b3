import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
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
import { SqliteJobCancelled } from './sqlite-jobs.js'
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
  /**
   * How long the stop's backup may take before it is given up (default 2,000 ms), so that a
   * large database cannot push the stop past its deadline. The database itself is whole
   * either way; the newest earlier backup stands.
   */
  stopBudgetMs?: number
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

/** The first backup after a start waits at least this long (unless `everyMs` is shorter): start has enough to do. */
const FIRST_AFTER_START_MS = 60_000

/** A newest backup more than this far ahead of the clock means the clock went back. */
const CLOCK_BEHIND_MS = 1_000
/** ... and one more than this far ahead is no clock's: a stray file, not followed. */
const CLOCK_BEHIND_AT_MOST_MS = 366 * 24 * 3_600_000

/** Pages a step of the stop's backup copies (16 MiB of 4 KiB pages): where it can be cut. */
const STOP_PAGES_PER_STEP = 4096

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
  private started = false
  /** Aborted when the stop's budget runs out: the stop's backup and one still running from before it end at their next step. */
  private halt = new AbortController()
  private running: Promise<BackupInfo> | null = null
  private lastError: { message: string; at: number } | null = null
  private warnedClock = false
  /** The last good backup this run, and how many rows the engine's connection (`db`) had changed when it began. */
  private lastGood: { info: BackupInfo; db: Db; changes: number } | null = null
  private readonly everyMs: number
  private readonly keep: number
  private readonly stopBudgetMs: number
  private readonly m: { made: Counter<'result'>; last: Gauge; seconds: Histogram }

  constructor(
    private readonly components: BackupKeeperComponents,
    private readonly init: BackupKeeperInit,
  ) {
    this.everyMs = init.everyMs ?? 3_600_000
    this.keep = Math.max(1, init.keep ?? 24)
    this.stopBudgetMs = init.stopBudgetMs ?? 2_000
    const metrics = components.metrics
    this.m = {
      made: metrics.counter({ name: 'backups_total', help: 'Database backups, by result (ok, failed, unchanged: not made, nothing changed since the last; cut: given up at the stop\'s budget)', labelNames: ['result'] }),
      last: metrics.gauge({ name: 'backup_last_success_timestamp_seconds', help: 'When a good backup last held the whole database (unix seconds; 0: none since start): one made, or one not made because nothing had changed since' }),
      seconds: metrics.histogram({ name: 'backup_seconds', help: 'Time to write and check one backup', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120] }),
    }
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    this.halt = new AbortController()
    // A backup cut short (a stop that overran its deadline, a crash) leaves its partial file.
    for (const dir of [this.init.dir, this.init.extraDir]) if (dir) for (const stale of partialsIn(dir)) rmSync(stale, { force: true })
    const newest = listBackups(this.init.dir)[0]
    this.schedule(firstBackupDueIn(newest ? backupTime(newest) : null, Date.now(), this.everyMs))
  }

  /**
   * The stop's backup, and one still running when the stop came, share a budget: a large
   * database on a slow disk must not push the stop past its deadline, where the process is
   * cut short. A backup is cut between two steps of its copy (the stop's copies in steps),
   * after its copy or after its check (each one call that cannot be cut), and the stop's is
   * not begun when the last backup's pace says it cannot end in time. Nothing is lost: the
   * database is whole, and the next backup is due `everyMs` after the newest one, a minute
   * into the next start at the soonest.
   */
  async stop(): Promise<void> {
    this.started = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const budget = setTimeout(() => this.halt.abort(), this.stopBudgetMs)
    try {
      await this.running?.catch(() => {})
      if (this.init.onStop !== false && this.components.store.isOpen) await this.backupNow('stop').catch(() => {})
    } finally {
      clearTimeout(budget)
    }
  }

  private schedule(inMs: number): void {
    const timer = setTimeout(() => {
      void this.backupNow('schedule')
        .catch(() => {})
        .finally(() => {
          // Not after a stop, nor after a stop and a new start (which scheduled its own).
          if (this.started && this.timer === timer) this.schedule(this.everyMs)
        })
    }, inMs)
    timer.unref?.()
    this.timer = timer
  }

  /** Why the last backup failed, for health; null once one succeeds. */
  problem(): string | null {
    return this.lastError ? `the last database backup failed at ${new Date(this.lastError.at).toISOString()}: ${this.lastError.message}; retrying on schedule` : null
  }

  /**
   * One backup now (joined by a call while one runs). One on schedule or at a stop is not
   * made when nothing has changed since the last good one of this run and that file is still
   * there: it would be the same database again, and would push an older one out of the
   * rotation. One asked for is always made.
   */
  backupNow(reason: 'schedule' | 'stop' | 'request'): Promise<BackupInfo> {
    this.running ??= this.make(reason).finally(() => {
      this.running = null
    })
    return this.running
  }

  private async make(reason: 'schedule' | 'stop' | 'request'): Promise<BackupInfo> {
    const started = performance.now()
    const db = this.components.store.db
    // Counted by the connection: a reopened store (a restore) starts again from zero.
    const changes = db.prepare('SELECT total_changes()').pluck().get() as number
    const last = this.lastGood
    if (reason !== 'request' && last && last.db === db && last.changes === changes && existsSync(last.info.file)) {
      this.m.made.inc({ result: 'unchanged' })
      // The newest backup still holds the whole database: an alert on its age must not fire on an idle node.
      this.m.last.set(Date.now() / 1000)
      this.components.logger.debug('no backup: nothing changed since the last one', { reason, file: last.info.file })
      return last.info
    }
    if (this.halt.signal.aborted) {
      this.giveUp(reason, 0, {})
      throw new SqliteJobCancelled('the stop budget has run out')
    }
    if (reason === 'stop' && last) {
      // The last one's pace says whether this one can end within the budget: if not, it is
      // not begun, rather than copied for the whole budget and then thrown away.
      const expectedMs = Math.round((last.info.ms * statSync(this.components.store.file).size) / Math.max(1, last.info.bytes))
      if (expectedMs > this.stopBudgetMs) {
        this.giveUp(reason, performance.now() - started, { expectedMs })
        throw new SqliteJobCancelled('the stop backup would overrun its budget')
      }
    }
    try {
      const info = await this.write(this.init.dir, reason === 'stop')
      if (this.init.extraDir && this.halt.signal.aborted) {
        // A second whole copy would take as long again: the next backup goes there too.
        this.components.logger.warn("a backup's copy to backups.extraDir was given up at the stop's budget; the next backup is copied there", { file: info.file, extraDir: this.init.extraDir })
      } else if (this.init.extraDir) await this.copyTo(info.file, this.init.extraDir)
      this.lastError = null
      this.lastGood = { info, db, changes }
      this.m.made.inc({ result: 'ok' })
      this.m.last.set(Date.now() / 1000)
      this.m.seconds.observe((performance.now() - started) / 1000)
      this.components.logger.info('database backed up', { reason, file: info.file, bytes: info.bytes, ms: info.ms })
      return info
    } catch (err) {
      if (err instanceof SqliteJobCancelled) {
        this.giveUp(reason, performance.now() - started, {})
        throw err
      }
      this.lastError = { message: (err as Error).message.slice(0, 300), at: Date.now() }
      this.m.made.inc({ result: 'failed' })
      this.components.logger.warn('database backup failed', { reason, err })
      throw err
    }
  }

  /**
   * The name of the next backup: its time, or just after the newest backup here or in
   * `extraDir` when the clock is behind that (set back). The rotation keeps the newest by
   * name: a backup named by a clock set back a day would sort as the oldest, and each new one
   * would be deleted as soon as it was made, while every check said all was well.
   */
  private nextName(): string {
    const now = Date.now()
    let newest = -Infinity
    for (const dir of [this.init.dir, this.init.extraDir]) {
      for (const file of dir ? listBackups(dir) : []) {
        const at = backupTime(file)
        if (at === null || at - now > CLOCK_BEHIND_AT_MOST_MS) continue
        newest = Math.max(newest, at)
        break
      }
    }
    if (newest - now > CLOCK_BEHIND_MS && !this.warnedClock) {
      this.warnedClock = true
      this.components.logger.warn('the clock is behind the newest backup: backups are named just after it, to keep their order; check the system clock', {
        newest: new Date(newest).toISOString(),
        now: new Date(now).toISOString(),
      })
    }
    return `engine-${stamp(new Date(Math.max(now, newest + 1)))}.sqlite`
  }

  private giveUp(reason: string, ms: number, fields: { expectedMs?: number }): void {
    this.m.made.inc({ result: 'cut' })
    this.components.logger.warn("a database backup was given up at the stop's budget (the database itself is whole; the newest backup stands, and the next is made on schedule after the next start)", {
      reason,
      budgetMs: this.stopBudgetMs,
      ms: Math.round(ms),
      ...fields,
      newest: listBackups(this.init.dir)[0] ?? null,
    })
  }

  /** `stepped`: copied in steps, so the stop's budget can cut it between them (only while nothing else writes). */
  private async write(dir: string, stepped: boolean): Promise<BackupInfo> {
    const signal = this.halt.signal
    const started = performance.now()
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
    const file = join(dir, this.nextName())
    const partial = `${file}.partial`
    rmSync(partial, { force: true })
    try {
      const { store, jobs } = this.components
      // At a stop, nothing else writes any more: a copy in steps does not start over.
      const steps = stepped ? { pagesPerStep: STOP_PAGES_PER_STEP } : {}
      const off = await jobs?.run({ kind: 'backup', source: store.file, target: partial, ...store.binding, ...steps }, signal)
      if (off) mustCheckOut(partial, off.report)
      else {
        // No worker: the engine's own connection, a hundred pages a turn (a copy from any
        // other connection on this thread would hold the thread for the whole file). A
        // worker that died part way may have left part of a file.
        rmSync(partial, { force: true })
        await store.db.backup(partial, {
          progress: () => {
            if (signal.aborted) throw new SqliteJobCancelled('the backup was cancelled')
            return 100
          },
        })
        if (signal.aborted) throw new SqliteJobCancelled('the backup was cancelled')
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

/**
 * When the first backup after a start is due (ms from `now`): `everyMs` after the newest
 * backup, across restarts, so a node restarted more often than that (or whose stop backup
 * was given up) still gets one on time, and at once when there is none (a new wallet);
 * never sooner than a minute into the run (start has enough to do), and never later than
 * `everyMs` (a newest backup from the future: the clock went back).
 */
export function firstBackupDueIn(newestMadeAt: number | null, now: number, everyMs: number): number {
  const dueIn = newestMadeAt === null ? 0 : newestMadeAt + everyMs - now
  return Math.min(everyMs, Math.max(Math.min(FIRST_AFTER_START_MS, everyMs), dueIn))
}

/** When a backup was made, from its name; null for a name that is not a backup's. */
function backupTime(file: string): number | null {
  const m = NAME.exec(basename(file))
  if (!m?.[1]) return null
  const t = m[1]
  const ms = Date.parse(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`)
  return Number.isFinite(ms) ? ms : null
}

function stamp(d: Date): string {
  // 20261203T211500123Z: sorts by time as text, safe in every file system.
  return d.toISOString().replace(/[-:.]/g, '')
}
