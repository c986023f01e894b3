import { randomUUID } from 'node:crypto'
import { readFileSync, realpathSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from './database.js'
import { ensurePrivateFile } from './data-dir.js'
import { type SqliteBinding, openSqlite } from './sqlite.js'

/**
 * The lock itself: a small SQLite file held in exclusive locking mode for as long as the
 * engine runs. The lock is the operating system's (fcntl on Unix, LockFileEx on Windows),
 * so it goes with the process however that ends (kill -9, a power cut): there is never a
 * stale lock to judge, and two engines starting at the same instant cannot both get it.
 *
 * Nothing else in this process may open this file: on Unix, closing any descriptor of a
 * file drops every fcntl lock the process holds on it, so a stray read would silently let a
 * second engine in (tested). It holds no data; only this module touches it.
 */
export const LOCK_DB_FILE = 'engine.lock.sqlite3'

/** Beside the lock, for people and error messages: which process holds the dir. It is not the lock. */
export const LOCK_FILE = 'engine.lock'

interface HolderNote {
  pid: number
  since: string
  /** This taking of the lock: the note is removed only by whoever wrote it. */
  token: string
}

/** An engine in another process has this data dir: two on one wallet would hand out the same keys and spend the same coins. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError'
  constructor(
    readonly dataDir: string,
    /** From the holder's note; null while it has not written it yet (it took the lock an instant ago). */
    readonly pid: number | null,
  ) {
    super(`another process (${pid === null ? 'starting now' : `pid ${pid}`}) runs an engine on ${dataDir}: stop it first`)
  }
}

function readNote(dataDir: string): HolderNote | null {
  try {
    const v = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as Partial<HolderNote>
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.token === 'string' ? (v as HolderNote) : null
  } catch {
    return null
  }
}

function resolved(dataDir: string): string {
  try {
    return realpathSync(dataDir)
  } catch {
    return dataDir
  }
}

const BUSY = /^SQLITE_(BUSY|LOCKED)/
const LOCK_WAIT_MS = 1000
const DAMAGED = /^SQLITE_(NOTADB|CORRUPT)/

/** One connection per dir this process holds, and the lock that owns it now. */
interface Held {
  db: Db
  owner: DataDirLock
  /** The file the connection holds, to tell when the dir was removed and made again under it. */
  file: { dev: number; ino: number }
}
const held = new Map<string, Held>()

/**
 * Taken by the store before it opens the database, given back when it closes it. Another
 * process's lock refuses the start (DataDirInUseError). Within one process a second store
 * on the same dir is a bug of that process, not two wallets racing (tests leave a store
 * unstopped to play a crash), so it takes the lock over: the first one's release then
 * gives back nothing.
 */
export class DataDirLock {
  /** Why the note naming this process could not be written (a full disk): the lock holds all the same. */
  noteProblem: Error | null = null

  private constructor(
    private readonly dir: string,
    private readonly dataDir: string,
    private readonly token: string,
  ) {}

  /**
   * `takeOver: false` (a restore) refuses a dir this process holds too, instead of taking
   * the lock from under its own engine.
   */
  static acquire(dataDir: string, binding: SqliteBinding = {}, { takeOver = true }: { takeOver?: boolean } = {}): DataDirLock {
    const dir = resolved(dataDir)
    const lock = new DataDirLock(dir, dataDir, randomUUID())
    const mine = held.get(dir)
    if (mine && sameFile(join(dataDir, LOCK_DB_FILE), mine.file)) {
      if (!takeOver) throw new DataDirInUseError(dataDir, process.pid)
      mine.owner = lock
    } else {
      if (mine) {
        // Its file is gone (the dir removed under a store never stopped): that lock guards nothing.
        held.delete(dir)
        mine.db.close()
      }
      const db = takeOsLock(dataDir, binding)
      const { dev, ino } = statSync(join(dataDir, LOCK_DB_FILE))
      held.set(dir, { db, owner: lock, file: { dev, ino } })
    }
    lock.writeNote()
    return lock
  }

  /** Gives the dir back, unless a later store of this process took it over. */
  release(): void {
    const mine = held.get(this.dir)
    if (mine?.owner !== this) return
    held.delete(this.dir)
    // The note first: once the lock is given back, the next holder's note may be there.
    if (readNote(this.dataDir)?.token === this.token) rmSync(join(this.dataDir, LOCK_FILE), { force: true })
    mine.db.close()
  }

  /** Written aside and renamed, so a reader never sees half of it. */
  private writeNote(): void {
    const path = join(this.dataDir, LOCK_FILE)
    const aside = `${path}.${this.token}`
    try {
      writeFileSync(aside, `${JSON.stringify({ pid: process.pid, since: new Date().toISOString(), token: this.token } satisfies HolderNote)}\n`, { mode: 0o600 })
      renameSync(aside, path)
    } catch (err) {
      // Only the refusal's message loses the pid; the lock is the operating system's.
      this.noteProblem = err as Error
    } finally {
      rmSync(aside, { force: true })
    }
  }
}

function sameFile(path: string, file: { dev: number; ino: number }): boolean {
  try {
    const now = statSync(path)
    return now.dev === file.dev && now.ino === file.ino
  } catch {
    return false
  }
}

/** The lock file open in exclusive locking mode with its lock taken; DataDirInUseError when another process has it. */
function takeOsLock(dataDir: string, binding: SqliteBinding): Db {
  const file = join(dataDir, LOCK_DB_FILE)
  ensurePrivateFile(file)
  // Two starters at one instant can each hold SQLite's read lock for a moment and so both
  // be answered busy (seen, about once in 25 races). A busy answer is therefore tried again
  // after a random pause until LOCK_WAIT_MS has passed: the two drift apart and one wins.
  // A second engine next to a running one is refused after that wait.
  const giveUpAt = performance.now() + LOCK_WAIT_MS
  let emptied = false
  for (;;) {
    const db = openSqlite(file, { ...binding, timeout: 0 })
    try {
      db.pragma('journal_mode = OFF')
      db.pragma('locking_mode = EXCLUSIVE')
      // In exclusive locking mode the lock a write transaction takes is kept until the
      // connection closes; this one writes nothing.
      db.exec('BEGIN EXCLUSIVE; COMMIT')
      return db
    } catch (err) {
      db.close()
      const code = (err as { code?: string }).code ?? ''
      if (BUSY.test(code)) {
        if (performance.now() >= giveUpAt) throw new DataDirInUseError(dataDir, readNote(dataDir)?.pid ?? null)
        Atomics.wait(PAUSE, 0, 0, 5 + Math.floor(Math.random() * 25))
        continue
      }
      // Damaged (it holds no data): emptied in place and taken again. Emptied, not
      // replaced: a lock is on the file, so a holder keeps it and is still found.
      if (!emptied && DAMAGED.test(code)) {
        emptied = true
        truncateSync(file, 0)
        continue
      }
      throw err
    }
  }
}

/** A pause that blocks (start is synchronous here): Atomics.wait on a cell nobody changes. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4))
