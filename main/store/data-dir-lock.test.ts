import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { uptime, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DataDirInUseError, DataDirLock, LOCK_FILE, lockHolder } from './data-dir-lock.js'

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

/** A live process that is not this one: what another engine on the dir looks like to the lock. */
function otherProcess(): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  children.push(child)
  return child.pid!
}

function writeLock(d: string, content: Record<string, unknown>): void {
  writeFileSync(join(d, LOCK_FILE), JSON.stringify(content))
}

const bootedAt = (): number => Date.now() - Math.round(uptime() * 1000)

describe('DataDirLock', () => {
  it('is taken and given back; this process does not count as another holder', () => {
    const d = dir()
    const lock = DataDirLock.acquire(d)
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    expect(lockHolder(d)).toBeNull()
    // A second store of this same process takes it over: a bug of this process, not two wallets.
    DataDirLock.acquire(d).release()
    lock.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(false)
  })

  it('refuses while another live process holds the dir, and takes it once that process is gone', async () => {
    const d = dir()
    const pid = otherProcess()
    writeLock(d, { pid, dir: d, bootedAt: bootedAt(), since: new Date().toISOString(), token: 'theirs' })
    expect(lockHolder(d)).toBe(pid)
    expect(() => DataDirLock.acquire(d)).toThrow(DataDirInUseError)
    expect(() => DataDirLock.acquire(d)).toThrow(`pid ${pid}`)
    const child = children.pop()!
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(lockHolder(d)).toBeNull()
    DataDirLock.acquire(d).release()
  })

  it('holds nothing from an earlier boot, for another (copied) dir, or unreadable', () => {
    const d = dir()
    const pid = otherProcess()
    writeLock(d, { pid, dir: d, bootedAt: bootedAt() - 86_400_000, since: 'yesterday', token: 'old' })
    expect(lockHolder(d)).toBeNull()
    writeLock(d, { pid, dir: '/somewhere/else', bootedAt: bootedAt(), since: 'now', token: 'copied' })
    expect(lockHolder(d)).toBeNull()
    writeFileSync(join(d, LOCK_FILE), '{"pid": 12')
    expect(lockHolder(d)).toBeNull()
    const lock = DataDirLock.acquire(d)
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    lock.release()
  })

  it('a store of the same process that took the lock over keeps it when the first one releases', () => {
    const d = dir()
    const first = DataDirLock.acquire(d)
    const second = DataDirLock.acquire(d)
    first.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(true)
    second.release()
    expect(existsSync(join(d, LOCK_FILE))).toBe(false)
  })

  it('release leaves a lock another process has taken since', () => {
    const d = dir()
    const lock = DataDirLock.acquire(d)
    const pid = otherProcess()
    writeLock(d, { pid, dir: d, bootedAt: bootedAt(), since: 'now', token: 'theirs' })
    lock.release()
    expect(lockHolder(d)).toBe(pid)
  })
})
