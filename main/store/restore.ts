import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { copyFileAtomically } from './atomic-file.js'
import { verifyBackup } from './backups.js'
import { DIR_MODE } from './data-dir.js'
import { DATABASE_FILE, type Db } from './database.js'
import { DataDirInUseError, DataDirLock } from './data-dir-lock.js'
import { openSqlite } from './sqlite.js'

/** A restore that must not happen (the engine runs, the backup is bad or of another wallet); nothing was changed. */
export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError'
}

export interface RestoreResult {
  /** The database now in place. */
  restored: string
  /** Whose wallet it holds (its first address), or null. */
  wallet: string | null
  /** Where the database it replaced was moved (kept, never deleted), or null when there was none. */
  replacedInto: string | null
}

/**
 * Puts a backup in place of a data dir's database. Refused, changing nothing, while an
 * engine runs on the dir (any process, this one too, holds its lock), when the backup does
 * not check out, or when it holds another wallet than the one there. A database too
 * damaged to say whose it is needs `acceptWallet`: the backup's wallet, named by the
 * person restoring. The database it replaces (and its -wal, -shm) is moved aside, never
 * deleted; the backup is copied beside its final name, flushed, and renamed into place.
 */
export function restoreBackup(dataDir: string, backupFile: string, opts: { identify: (db: Db) => string | null; acceptWallet?: string }): RestoreResult {
  if (!existsSync(backupFile)) throw new RestoreRefusedError(`no backup at ${backupFile}`)
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE })
  // Held for the whole restore: an engine that starts meanwhile is refused, not handed a
  // database half moved.
  let lock: DataDirLock
  try {
    lock = DataDirLock.acquire(dataDir, {}, { takeOver: false })
  } catch (err) {
    if (err instanceof DataDirInUseError) throw new RestoreRefusedError(`an engine runs on ${dataDir} (${err.pid === null ? 'starting now' : `pid ${err.pid}`}): stop it first`)
    throw err
  }
  try {
    return restoreLocked(dataDir, backupFile, opts)
  } finally {
    lock.release()
  }
}

function restoreLocked(dataDir: string, backupFile: string, opts: { identify: (db: Db) => string | null; acceptWallet?: string }): RestoreResult {
  let wallet: string | null
  try {
    wallet = verifyBackup(backupFile, opts.identify)
  } catch (err) {
    throw new RestoreRefusedError(`the backup cannot be used: ${(err as Error).message}`)
  }
  const current = join(dataDir, DATABASE_FILE)
  if (existsSync(current)) {
    const here = identityOf(current, opts.identify)
    if (here.readable) {
      if (here.wallet !== null && here.wallet !== wallet) {
        throw new RestoreRefusedError(`the backup holds another wallet (${wallet ?? 'none'}) than this data dir (${here.wallet}); nothing was changed`)
      }
    } else if (opts.acceptWallet === undefined || opts.acceptWallet !== wallet) {
      throw new RestoreRefusedError(
        `the database here cannot be read to tell whose wallet it holds; the backup holds wallet ${wallet ?? 'none'}. If that is yours, restore again with --accept-wallet ${wallet ?? 'none'}`,
      )
    }
  }
  let replacedInto: string | null = null
  const moving = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`].filter((f) => existsSync(join(dataDir, f)))
  if (moving.length > 0) {
    replacedInto = join(dataDir, `replaced-${new Date().toISOString().replace(/[-:.]/g, '')}`)
    mkdirSync(replacedInto, { mode: DIR_MODE })
    for (const f of moving) renameSync(join(dataDir, f), join(replacedInto, f))
  }
  // A restore cut short leaves `.restoring`, never a half database under the real name.
  copyFileAtomically(backupFile, current, `${current}.restoring`)
  return { restored: current, wallet, replacedInto }
}

function identityOf(file: string, identify: (db: Db) => string | null): { readable: boolean; wallet: string | null } {
  try {
    const db = openSqlite(file, { readonly: true, fileMustExist: true })
    try {
      // A page that cannot be read throws here: then it cannot say whose it is.
      db.prepare('SELECT count(*) FROM sqlite_master').get()
      return { readable: true, wallet: identify(db) }
    } finally {
      db.close()
    }
  } catch {
    return { readable: false, wallet: null }
  }
}
