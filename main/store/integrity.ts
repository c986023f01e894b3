import { join } from 'node:path'
import { DATABASE_FILE, type Db, openDatabase } from './database.js'

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
export function checkDatabaseFile(dataDir: string, mode: 'quick' | 'full' = 'full'): IntegrityReport & { file: string } {
  const file = join(dataDir, DATABASE_FILE)
  let db: Db
  try {
    db = openDatabase(dataDir, { readonly: true })
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
