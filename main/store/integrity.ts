import { join } from 'node:path'
import type { Counter } from 'prom-client'
import type { Logger, Metrics } from '../telemetry/index.js'
import { DATABASE_FILE, type Db, openDatabase } from './database.js'
import type { SqliteBinding } from './sqlite.js'
import type { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import type { Store } from './store.js'

/** At most this many problems are read back from a check: enough to tell what is wrong. */
const MAX_PROBLEMS = 20

/** SQLite's own words for a file that is not a database or whose pages do not hold together. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_INDEX', 'SQLITE_IOERR_SHORT_READ'])

export function isDamageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && DAMAGE_CODES.has(code)
}

export interface IntegrityReport {
  ok: boolean
  /** What SQLite found, in its words (empty when ok). */
  problems: string[]
}

/**
 * SQLite's own check of a database: `quick` (every page and record, no index cross-check;
 * fast enough for every start) or `full` (`integrity_check`, indexes too). Never writes.
 */
export function checkIntegrity(db: Db, mode: 'quick' | 'full' = 'quick'): IntegrityReport {
  try {
    const rows = db.pragma(`${mode === 'quick' ? 'quick_check' : 'integrity_check'}(${MAX_PROBLEMS})`) as Record<string, unknown>[]
    const problems = rows.map((r) => String(Object.values(r)[0])).filter((p) => p !== 'ok')
    return { ok: problems.length === 0, problems }
  } catch (err) {
    if (isDamageError(err)) return { ok: false, problems: [(err as Error).message] }
    throw err
  }
}

/**
 * The database of a data directory is damaged. It is not served and not touched: no
 * repair in place, no write. The way out is a backup (or the wallet's words).
 */
export class DatabaseDamagedError extends Error {
  override readonly name = 'DatabaseDamagedError'
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `the database ${file} is damaged (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}). ` +
        'It was left exactly as it is and nothing was started. Stop here: move the file and its -wal and -shm files aside (keep them), ' +
        'then restore a backup into the data directory, or restore the wallet from its words (see "Restore" in docs/operations.md).',
    )
  }
}

/** Checks the database of `dataDir` from a read-only connection (a running engine may keep writing meanwhile). */
export function checkDatabaseFile(dataDir: string, mode: 'quick' | 'full' = 'full', binding: SqliteBinding = {}): IntegrityReport & { file: string } {
  const file = join(dataDir, DATABASE_FILE)
  let db: Db
  try {
    db = openDatabase(dataDir, { readonly: true, nativeBinding: binding.nativeBinding })
  } catch (err) {
    if (isDamageError(err)) return { ok: false, problems: [(err as Error).message], file }
    throw err
  }
  try {
    return { ...checkIntegrity(db, mode), file }
  } finally {
    db.close()
  }
}

export interface DatabaseCheck extends IntegrityReport {
  file: string
  ms: number
}

/**
 * `integrity_check` of the running database, on demand (Settings, the API): every page read
 * (about 8 ms per MiB here), from a read-only connection in a worker thread, so the engine
 * goes on meanwhile; without a worker, on the engine's own connection, pausing it for the
 * check's length. Callers that ask while one runs share it. Damage found is a warning, a
 * metric and a health reason until a check finds none.
 */
export class DatabaseChecker {
  private running: Promise<DatabaseCheck> | null = null
  private found: { problems: string[]; at: number } | null = null
  private readonly checks: Counter<'result'>

  constructor(
    private readonly components: { store: Store; logger: Logger; metrics: Metrics; jobs?: SqliteWorkerJobs },
    private readonly init: { dataDir: string },
  ) {
    this.checks = components.metrics.counter({ name: 'database_checks_total', help: 'integrity_check runs of the running database, by result', labelNames: ['result'] })
  }

  check(): Promise<DatabaseCheck> {
    this.running ??= new Promise<DatabaseCheck>((resolve, reject) => {
      // On the next turn, so a burst of callers joins one check.
      setImmediate(() => {
        this.checkNow().then(resolve, reject)
      })
    }).finally(() => {
      this.running = null
    })
    return this.running
  }

  /** What the last check found, for health; null when it found nothing (or none ran). */
  problem(): string | null {
    return this.found ? `the database check at ${new Date(this.found.at).toISOString()} found damage (${this.found.problems.slice(0, 3).join('; ')}): back up what you can, stop, and restore a backup` : null
  }

  private async checkNow(): Promise<DatabaseCheck> {
    const { store, logger, jobs } = this.components
    const file = join(this.init.dataDir, DATABASE_FILE)
    const t0 = performance.now()
    const off = await jobs?.run({ kind: 'check', file, mode: 'full', ...store.binding })
    const report = off ? off.report : checkIntegrity(store.db, 'full')
    const ms = Math.round(performance.now() - t0)
    this.checks.inc({ result: report.ok ? 'ok' : 'damaged' })
    if (report.ok) {
      if (this.found) logger.info('the database check finds no damage again', { file })
      this.found = null
    } else {
      this.found = { problems: report.problems, at: Date.now() }
      logger.warn('the database check found damage', { file, problems: report.problems })
    }
    return { ...report, file, ms }
  }
}
