import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** Folders owner-only (rwx------), files owner read/write (rw-------). */
export const DIR_MODE = 0o700
const FILE_MODE = 0o600

/**
 * Makes the data dir private to its owner, on creation and again on every start: the dir
 * and every folder in it 0700, every file 0600 (the database and its WAL hold messages,
 * channel states and, without a passphrase, the seed). A dir made by an earlier version,
 * copied with a permissive umask or loosened by hand is tightened here. Symbolic links are
 * left alone (their mode is their target's). Where the platform has no POSIX modes
 * (Windows) chmod only toggles read-only, which these modes leave off.
 */
export function secureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE })
  tighten(dataDir)
}

function tighten(path: string): void {
  let st
  try {
    st = lstatSync(path)
  } catch (err) {
    // Gone between the listing and now (a log rotated, a temp file renamed): nothing to tighten.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== DIR_MODE) chmodSync(path, DIR_MODE)
    for (const name of readdirSync(path)) tighten(join(path, name))
    return
  }
  if (st.isFile() && (st.mode & 0o777) !== FILE_MODE) chmodSync(path, FILE_MODE)
}

/**
 * Creates `path` 0600 if it does not exist, so a file another library then opens (SQLite
 * makes its WAL and shared-memory files with the database file's mode) is private from
 * its first byte.
 */
export function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', FILE_MODE))
  chmodSync(path, FILE_MODE)
}
