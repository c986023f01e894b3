import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { DIR_MODE, ensurePrivateFile } from './data-dir.js'
import { type SqliteBinding, openSqlite } from './sqlite.js'

export type Db = Database.Database

/** A migration is identified by a stable id; the list order is the apply order. */
export interface Migration {
  id: string
  up: string | ((db: Db) => void)
  /**
   * Rebuilds a table that others reference (SQLite's create-copy-drop-rename): foreign key
   * enforcement is off while it runs (it cannot change inside a transaction), and every
   * reference is checked before the migration commits.
   */
  rebuildsReferencedTable?: boolean
}

class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

export const DATABASE_FILE = 'engine.sqlite'

export interface OpenDatabaseOptions extends SqliteBinding {
  /** Milliseconds a writer waits for a lock before SQLITE_BUSY. */
  busyTimeoutMs?: number
  readonly?: boolean
  /** SQLite's page cache for this connection, in MiB (default 16, better-sqlite3's build). */
  cacheMiB?: number
}

/**
 * Open the one connection of a data directory: WAL, synchronous=FULL (a commit is on
 * disk before anything that depends on it leaves the process), foreign keys on.
 */
export function openDatabase(dataDir: string, opts: OpenDatabaseOptions = {}): Db {
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE })
  const file = join(dataDir, DATABASE_FILE)
  // SQLite creates the WAL and shared-memory files with the database file's mode.
  if (!opts.readonly) ensurePrivateFile(file)
  const db = openSqlite(file, { readonly: opts.readonly ?? false, nativeBinding: opts.nativeBinding })
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`)
    if (!opts.readonly) {
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`could not enable WAL (got ${String(mode)})`)
    }
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    // Filled as the database is read and written, up to this size, then kept: a part of the
    // process's memory that follows the database's size until it reaches the cap.
    if (opts.cacheMiB !== undefined) db.pragma(`cache_size = -${Math.max(1, Math.floor(opts.cacheMiB)) * 1024}`)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/** Apply the migrations not yet applied, each in its own transaction; returns the ids applied. */
export function migrate(db: Db, migrations: readonly Migration[]): string[] {
  const seen = new Set<string>()
  for (const m of migrations) {
    if (seen.has(m.id)) throw new MigrationError(`duplicate migration id ${m.id}`)
    seen.add(m.id)
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`)
  const applied = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id))
  const record = db.prepare('INSERT INTO schema_migrations (id, position, applied_at) VALUES (?, ?, ?)')
  const done: string[] = []
  migrations.forEach((m, position) => {
    if (applied.has(m.id)) return
    const run = db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up)
      else m.up(db)
      if (m.rebuildsReferencedTable) {
        const broken = db.pragma('foreign_key_check') as unknown[]
        if (broken.length > 0) throw new Error(`${broken.length} rows would lose the row they reference`)
      }
      record.run(m.id, position, new Date().toISOString())
    })
    const enforced = db.pragma('foreign_keys', { simple: true }) === 1
    if (m.rebuildsReferencedTable && enforced) db.pragma('foreign_keys = OFF')
    try {
      run()
    } catch (err) {
      throw new MigrationError(`migration ${m.id} failed: ${(err as Error).message}`, { cause: err })
    } finally {
      if (m.rebuildsReferencedTable && enforced) db.pragma('foreign_keys = ON')
    }
    done.push(m.id)
  })
  return done
}
