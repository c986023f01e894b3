import { chmodSync, closeSync, copyFileSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replaces `path` whole or not at all: the bytes go to a temporary file beside it, are
 * flushed to disk, and the file is renamed over the old one (and the folder flushed), so
 * a crash or a full disk leaves either the old file or the new one, never half of either.
 */
export function writeFileAtomically(path: string, content: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`
  let fd: number | null = openSync(tmp, 'w', mode)
  try {
    writeFileSync(fd, content)
    fsyncSync(fd)
    closeSync(fd)
    fd = null
    renameSync(tmp, path)
  } catch (err) {
    if (fd !== null) closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  syncFolder(dirname(path))
}

/** writeFileAtomically without holding the event loop through the flush (for a file nobody waits on). */
export async function writeFileAtomicallyAsync(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  try {
    const file = await open(tmp, 'w', mode)
    try {
      await file.writeFile(content)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  const folder = await open(dirname(path), 'r').catch(() => null)
  // As in syncFolder: where a folder cannot be flushed, the rename is still atomic.
  await folder?.sync().catch(() => {})
  await folder?.close()
}

/**
 * Copies `from` to `to` whole or not at all (a copy beside it named `partial`, owner-only,
 * flushed, then renamed, and the folder flushed): a crash leaves no half file at `to`.
 */
export function copyFileAtomically(from: string, to: string, partial = `${to}.tmp-${process.pid}`): void {
  try {
    copyFileSync(from, partial)
    chmodSync(partial, 0o600)
    const fd = openSync(partial, 'r+')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(partial, to)
  } catch (err) {
    rmSync(partial, { force: true })
    throw err
  }
  syncFolder(dirname(to))
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
