import { chmodSync, closeSync, copyFileSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Replaces `path` whole or not at all: the bytes go to a temporary file beside it, are
 * flushed to disk, and the file is renamed over the old one (and the folder flushed), so
 * a crash or a full disk leaves either the old file or the new one, never half of either.
 * `flush: false` keeps the rename (readers see the old file or the new one) but skips both
 * flushes, for a file that describes a running process, which a power cut makes stale
 * anyway (the daemon's daemon.json: its flushes were 6 ms of a restart, before the first
 * answer).
 */
export function writeFileAtomically(path: string, content: string | Uint8Array, mode = 0o600, opts: { flush?: boolean } = {}): void {
  const flush = opts.flush ?? true
  const tmp = `${path}.tmp-${process.pid}`
  let fd: number | null = openSync(tmp, 'w', mode)
  try {
    writeFileSync(fd, content)
    if (flush) fsyncSync(fd)
    closeSync(fd)
    fd = null
    renameSync(tmp, path)
  } catch (err) {
    if (fd !== null) closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  if (flush) syncFolder(dirname(path))
}

/**
 * Copies `from` to `to` whole or not at all (a copy beside it named `partial`, owner-only,
 * flushed, then renamed, and the folder flushed): a crash leaves no half file at `to`.
 */
export function copyFileAtomically(from: string, to: string, partial = `${to}.tmp-${process.pid}`): void {
  try {
    copyFileSync(from, partial)
    chmodSync(partial, 0o600)
    syncFile(partial)
    renameSync(partial, to)
  } catch (err) {
    rmSync(partial, { force: true })
    throw err
  }
  syncFolder(dirname(to))
}

/** Flushes a file's bytes to disk. */
export function syncFile(file: string): void {
  const fd = openSync(file, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Flushes a folder, so a rename or a new file in it survives a crash. */
export function syncFolder(dir: string): void {
  let fd: number | null = null
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Some platforms (Windows) cannot open or flush a folder; the rename itself is still atomic.
  } finally {
    if (fd !== null) closeSync(fd)
  }
}
