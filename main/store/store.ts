import { type ListenerErrorReporter, ListenerSet, type Startable, surfaceListenerErrors } from '../kit/index.js'
import { DataDirLock } from './data-dir-lock.js'
import { secureDataDir } from './data-dir.js'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DATABASE_FILE, type Db, type Migration, migrate, openDatabase } from './database.js'
import { DatabaseDamagedError, checkDatabaseFile, isDamageError } from './integrity.js'
import type { SqliteBinding } from './sqlite.js'

export interface StoreInit extends SqliteBinding {
  dataDir: string
  migrations: readonly Migration[]
  busyTimeoutMs?: number
  /** SQLite's page cache of the engine's connection, in MiB (default 16). */
  cacheMiB?: number
  /** Where a write-fault listener's failure is reported (the engine's reporter: logged with its stack, counted). */
  onListenerError?: ListenerErrorReporter
}

/** The disk refused a write: full, read-only, or failing. */
export interface WriteFault {
  /** SQLite's code, e.g. SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR_WRITE. */
  code: string
  message: string
  /** When the first refused write of this spell happened (epoch ms). */
  since: number
}

const DISK_FAULT = /^SQLITE_(FULL|IOERR|READONLY)/
/** The same faults as the file system reports them (creating the data dir's lock file). */
const FS_DISK_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO'])

/** An error of the disk under the database (not of the write itself): it passes when the disk does. */
export function isDiskFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && DISK_FAULT.test(code)
}

/** While the disk refuses writes, one small write tries it again this often. */
const PROBE_EVERY_MS = 2_000

class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  constructor() {
    super('the store is not open')
  }
}

/**
 * The one SQLite connection of a data directory. Repositories take the Store and ask
 * for `db` when they run, so a stopped store fails loudly instead of writing nowhere.
 */
export class Store implements Startable {
  private connection: Db | null = null
  private lock: DataDirLock | null = null
  /** Why this start runs without the data dir's lock (the disk refused the file), or null. */
  lockProblem: Error | null = null
  /** Why the lock's note (this pid, for a refused second engine's message) could not be written, or null. */
  get lockNoteProblem(): Error | null {
    return this.lock?.noteProblem ?? null
  }
  private fault: WriteFault | null = null
  private probeTimer: NodeJS.Timeout | null = null
  private readonly faultListeners: ListenerSet<[WriteFault | null]>

  constructor(private readonly init: StoreInit) {
    this.faultListeners = new ListenerSet('store-write-fault', init.onListenerError ?? surfaceListenerErrors)
  }

  get db(): Db {
    if (!this.connection) throw new StoreClosedError()
    return this.connection
  }

  /** The database file (other connections open it read-only: backups, checks). */
  get file(): string {
    return join(this.init.dataDir, DATABASE_FILE)
  }

  /** The better-sqlite3 build this store opens with, for the parts that open their own connections (backups). */
  get binding(): SqliteBinding {
    return { nativeBinding: this.init.nativeBinding }
  }

  get isOpen(): boolean {
    return this.connection !== null
  }

  /**
   * Checks the database (`quick_check`) before anything reads or writes it: a damaged one
   * is refused with DatabaseDamagedError and left exactly as it is. The check runs on a
   * read-only connection, whose close cannot fold the WAL into a damaged file as the last
   * writable connection's close would.
   */
  async start(): Promise<void> {
    if (this.connection) return
    secureDataDir(this.init.dataDir)
    // Before the database opens: a second engine on this wallet is refused, not raced.
    let lock: DataDirLock | null = null
    this.lockProblem = null
    try {
      lock = DataDirLock.acquire(this.init.dataDir, this.binding)
    } catch (err) {
      // A full disk must not keep the engine from starting (it runs in a write fault and
      // says so); it runs unguarded then, and the engine warns.
      if (!FS_DISK_FAULTS.has((err as NodeJS.ErrnoException).code ?? '') && !isDiskFault(err)) throw err
      this.lockProblem = err as Error
    }
    try {
      this.connection = this.open()
      this.lock = lock
    } catch (err) {
      lock?.release()
      throw err
    }
  }

  private open(): Db {
    const file = join(this.init.dataDir, DATABASE_FILE)
    if (existsSync(file)) {
      const report = checkDatabaseFile(this.init.dataDir, 'quick', this.binding)
      if (!report.ok) throw new DatabaseDamagedError(file, report.problems)
    }
    let db: Db
    try {
      db = openDatabase(this.init.dataDir, { busyTimeoutMs: this.init.busyTimeoutMs, nativeBinding: this.init.nativeBinding, cacheMiB: this.init.cacheMiB })
    } catch (err) {
      if (isDamageError(err)) throw new DatabaseDamagedError(file, [(err as Error).message])
      throw err
    }
    try {
      migrate(db, this.init.migrations)
      // The store's own row, written only to learn whether the disk takes writes again.
      db.exec('CREATE TABLE IF NOT EXISTS store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL) STRICT')
    } catch (err) {
      db.close()
      if (isDamageError(err)) throw new DatabaseDamagedError(file, [(err as Error).message])
      throw err
    }
    return db
  }

  /** Why writes fail now, or null while the disk takes them. */
  get writeFault(): WriteFault | null {
    return this.fault
  }

  /** Hear when writes start failing for the disk (a fault) and when they work again (null). */
  onWriteFault(listener: (fault: WriteFault | null) => void): () => void {
    return this.faultListeners.add(listener)
  }

  /**
   * A write's outcome, as the part that wrote saw it: a disk fault starts a spell of
   * refused writes (tried again by a small write every 2 s), a success ends it. Cheap
   * enough for every commit.
   */
  noteWrite(err: unknown): void {
    if (err === null || err === undefined) {
      if (this.fault) this.setFault(null)
      return
    }
    if (!isDiskFault(err) || this.fault) return
    const e = err as { code: string; message?: string }
    this.setFault({ code: e.code, message: String(e.message ?? e.code).slice(0, 300), since: Date.now() })
  }

  private setFault(fault: WriteFault | null): void {
    this.fault = fault
    if (fault && !this.probeTimer) {
      this.probeTimer = setInterval(() => this.probe(), PROBE_EVERY_MS)
      this.probeTimer.unref?.()
    } else if (!fault && this.probeTimer) {
      clearInterval(this.probeTimer)
      this.probeTimer = null
    }
    // A listener's failure is reported; the fault stands either way.
    this.faultListeners.emit(fault)
  }

  private probe(): void {
    const db = this.connection
    if (!db) return
    try {
      db.prepare('INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at').run(Date.now())
      this.noteWrite(null)
    } catch (err) {
      if (!isDiskFault(err)) this.noteWrite(null)
    }
  }

  async stop(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer)
    this.probeTimer = null
    this.fault = null
    const db = this.connection
    this.connection = null
    const lock = this.lock
    this.lock = null
    if (!db) return
    // Fold the WAL back into the main file so a copied data dir is complete.
    try {
      db.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      db.close()
      lock?.release()
    }
  }
}
