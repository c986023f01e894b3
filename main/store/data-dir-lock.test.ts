import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { DataDirInUseError, DataDirLock, LOCK_DB_FILE, LOCK_FILE } from './data-dir-lock.js'

const dirs: string[] = []
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function dir(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'bsv-lock-')))
  dirs.push(d)
  return d
}

const LOCK_MODULE = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url))

interface Contender {
  child: ChildProcess
  /** Loaded, and waiting for `go` (with `go` only). */
  ready: Promise<void>
  /** 'held' once it has the lock (it keeps it until killed), else the refusal's message. */
  outcome: Promise<string>
  exited: Promise<void>
}

/** Another process trying the lock, through this module, as another engine would. */
function contender(d: string, { go }: { go?: string } = {}): Contender {
  // `go`: a file whose appearance starts every contender at once (they are all loaded by then).
  const script = `
    import { existsSync } from 'node:fs'
    import { DataDirLock } from ${JSON.stringify(LOCK_MODULE)}
    ${go ? `console.log('ready'); while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1))` : ''}
    try { DataDirLock.acquire(${JSON.stringify(d)}); console.log('held'); setInterval(() => {}, 60000) }
    catch (err) { console.log(err.name + ': ' + err.message); process.exit(0) }
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  let out = ''
  const line = (accept: (l: string) => boolean): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const look = (): void => {
        const found = out.split('\n').slice(0, -1).find(accept)
        if (found !== undefined) resolve(found)
      }
      child.stdout!.on('data', look)
      child.once('exit', (code) => reject(new Error(`contender exited (${String(code)}) before it answered: ${out}`)))
    })
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString()
  })
  const ready = go ? line((l) => l === 'ready').then(() => undefined) : Promise.resolve()
  const outcome = line((l) => l !== 'ready')
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return { child, ready, outcome, exited }
}

describe('DataDirLock', () => {
  it('is taken and given back; a second store of this process takes it over', () => {
    const d = dir()
    const lock = DataDirLock.acquire(d)
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    // A second store of this same process takes it over: a bug of this process, not two wallets.
    DataDirLock.acquire(d).release()
    lock.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(false)
    // Given back: taken again at once.
    DataDirLock.acquire(d).release()
  })

  it('refuses while another process holds the dir (naming it), and is free the instant that process is killed', async () => {
    const d = dir()
    const other = contender(d)
    expect(await other.outcome).toBe('held')
    let refusal: unknown
    try {
      DataDirLock.acquire(d)
    } catch (err) {
      refusal = err
    }
    expect(refusal).toBeInstanceOf(DataDirInUseError)
    expect((refusal as DataDirInUseError).pid).toBe(other.child.pid)
    expect((refusal as Error).message).toContain(`pid ${String(other.child.pid)}`)
    // kill -9: no release ran, its note is still there; the operating system gave the lock back.
    other.child.kill('SIGKILL')
    await other.exited
    expect(existsSync(join(d, LOCK_FILE))).toBe(true)
    const lock = DataDirLock.acquire(d)
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    lock.release()
  })

  it('a dir removed and made again under a store never stopped is locked afresh, not taken over from a lock on a file gone', async () => {
    const d = dir()
    DataDirLock.acquire(d) // never released: a store left running
    rmSync(d, { recursive: true, force: true })
    mkdirSync(d)
    const lock = DataDirLock.acquire(d)
    expect(await contender(d).outcome).toMatch(/^DataDirInUseError/)
    lock.release()
  })

  it('a restore (takeOver: false) is refused a dir this process holds, and the holder keeps it', async () => {
    const d = dir()
    const lock = DataDirLock.acquire(d)
    expect(() => DataDirLock.acquire(d, {}, { takeOver: false })).toThrow(`pid ${process.pid}`)
    expect(await contender(d).outcome).toMatch(/^DataDirInUseError/)
    lock.release()
    DataDirLock.acquire(d, {}, { takeOver: false }).release()
  })

  it('a note that cannot be written leaves the lock holding (a refused engine then cannot name the pid)', async () => {
    const d = dir()
    mkdirSync(join(d, LOCK_FILE)) // a directory where the note goes: the rename over it fails
    const lock = DataDirLock.acquire(d)
    expect(lock.noteProblem).not.toBeNull()
    expect(await contender(d).outcome).toBe('DataDirInUseError: another process (starting now) runs an engine on ' + d + ': stop it first')
    lock.release()
  })

  it('a lock file damaged (garbage in it) is emptied and taken, and still refuses a second process', async () => {
    const d = dir()
    writeFileSync(join(d, LOCK_DB_FILE), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(5000, 0xa5)]))
    const lock = DataDirLock.acquire(d)
    expect(await contender(d).outcome).toMatch(/^DataDirInUseError/)
    lock.release()
    writeFileSync(join(d, LOCK_DB_FILE), 'not a database at all')
    DataDirLock.acquire(d).release()
  })

  it('a note left behind is no lock: garbage, or a live process that holds nothing', () => {
    const d = dir()
    writeFileSync(join(d, LOCK_FILE), '{"pid": 12')
    DataDirLock.acquire(d).release()
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.ppid, since: 'now', token: 'theirs' }))
    const lock = DataDirLock.acquire(d)
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    lock.release()
  })

  it('keeps holding while its own files are read in this process (on Unix, closing any descriptor of the lock file would drop it)', async () => {
    const d = dir()
    const lock = DataDirLock.acquire(d)
    readFileSync(join(d, LOCK_FILE))
    const other = contender(d)
    expect(await other.outcome).toMatch(/^DataDirInUseError: .*pid /)
    lock.release()
  })

  it('a store of the same process that took the lock over keeps it when the first one releases', async () => {
    const d = dir()
    const first = DataDirLock.acquire(d)
    const second = DataDirLock.acquire(d)
    first.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(true)
    expect(await contender(d).outcome).toMatch(/^DataDirInUseError/)
    second.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(false)
    expect(await contender(d).outcome).toBe('held')
  })

  it("hostile: many processes at once on one dir, fresh and over a dead holder's leftovers: exactly one gets it", async () => {
    for (const leftovers of [false, true]) {
      const d = dir()
      if (leftovers) {
        // What a kill -9 leaves: the lock file and a note naming a process that is gone.
        const dead = contender(d)
        expect(await dead.outcome).toBe('held')
        dead.child.kill('SIGKILL')
        await dead.exited
        expect(existsSync(join(d, LOCK_DB_FILE))).toBe(true)
      }
      const go = join(d, 'go')
      const many = Array.from({ length: 6 }, () => contender(d, { go }))
      await Promise.all(many.map((c) => c.ready))
      writeFileSync(go, '')
      const outcomes = await Promise.all(many.map((c) => c.outcome))
      expect(outcomes.filter((o) => o === 'held')).toHaveLength(1)
      expect(outcomes.filter((o) => o.startsWith('DataDirInUseError'))).toHaveLength(5)
      for (const c of many) c.child.kill('SIGKILL')
      await Promise.all(many.map((c) => c.exited))
    }
  }, 60_000)
})
