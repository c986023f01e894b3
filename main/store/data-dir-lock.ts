import { randomUUID } from 'node:crypto'
import { linkSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'

/** A file system without hard links (exFAT, some network shares) answers link() with these. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])
import { uptime } from 'node:os'
import { join } from 'node:path'

/** Beside the database: which process runs an engine on this data dir. */
export const LOCK_FILE = 'engine.lock'

/** How far two readings of the boot time may differ and still be the same boot (os.uptime has whole seconds, clocks get set). */
const SAME_BOOT_MS = 120_000

interface LockContent {
  pid: number
  /** The dir locked, resolved: a data dir copied with its lock is not the one the lock's process runs on. */
  dir: string
  /** When this machine booted, by this process's reckoning: a lock from an earlier boot names a pid that is someone else's now. */
  bootedAt: number
  since: string
  /** This taking of the lock: a release gives back only its own (a store of the same process may have taken it over). */
  token: string
}

/** An engine in another live process has this data dir: two on one wallet would hand out the same keys and spend the same coins. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError'
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`another process (pid ${pid}) runs an engine on ${dataDir}: stop it first (if none does, remove ${join(dataDir, LOCK_FILE)})`)
  }
}

function bootedAt(): number {
  return Date.now() - Math.round(uptime() * 1000)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive, someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function read(path: string): LockContent | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.bootedAt === 'number' && typeof v.dir === 'string' && typeof v.token === 'string' ? (v as LockContent) : null
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

/**
 * The live process other than this one whose lock is on `dataDir`, or null. A lock from an
 * earlier boot, of a process that is gone, copied here with the dir, or unreadable (a crash
 * mid-write) holds nothing.
 */
export function lockHolder(dataDir: string): number | null {
  const held = read(join(dataDir, LOCK_FILE))
  if (!held || held.pid === process.pid || held.dir !== resolved(dataDir)) return null
  if (Math.abs(held.bootedAt - bootedAt()) > SAME_BOOT_MS) return null
  return isAlive(held.pid) ? held.pid : null
}

/**
 * Taken by the store before it opens the database, given back when it closes it. Another
 * live process's lock refuses the start (DataDirInUseError); a stale one (its process gone,
 * or an earlier boot) is replaced. Within one process a second store on the same dir is a
 * bug of that process, not two wallets racing, so this process's own lock is taken over.
 */
export class DataDirLock {
  private constructor(
    private readonly path: string,
    private readonly token: string,
  ) {}

  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_FILE)
    const token = randomUUID()
    const content = `${JSON.stringify({ pid: process.pid, dir: resolved(dataDir), bootedAt: bootedAt(), since: new Date().toISOString(), token } satisfies LockContent)}\n`
    // The lock appears whole or not at all (written aside, then linked into place, which
    // fails if one is there): a lock created empty and written after would read as stale
    // to a second engine starting at the same instant, and both would run.
    // Two starters that both find a stale lock both remove it; only one links the new one.
    const aside = `${path}.${token}`
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(aside, content, { mode: 0o600 })
        placeLock(aside, path, content)
        return new DataDirLock(path, token)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const holder = lockHolder(dataDir)
        if (holder !== null) throw new DataDirInUseError(dataDir, holder)
        rmSync(path, { force: true })
      } finally {
        rmSync(aside, { force: true })
      }
    }
    throw new Error(`could not take ${path}: it kept coming back (another engine starting on ${dataDir}?)`)
  }

  /** Gives the dir back, unless another process took it over meanwhile (it found us gone). */
  release(): void {
    if (read(this.path)?.token === this.token) rmSync(this.path, { force: true })
  }
}

/**
 * Puts the lock in place only if none is there: by a hard link of the file written aside,
 * or, where the file system has no hard links, by an exclusive create written after (a
 * second engine starting within that instant could read it empty and take it as stale).
 */
function placeLock(aside: string, path: string, content: string): void {
  try {
    linkSync(aside, path)
  } catch (err) {
    if (!NO_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' })
  }
}
