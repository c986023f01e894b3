import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Store } from './store.js'
import { secureDataDir } from './data-dir.js'

const modeOf = (path: string): number => statSync(path).mode & 0o777
const dirs: string[] = []
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bsv-datadir-'))
  dirs.push(d)
  return d
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe.skipIf(process.platform === 'win32')('data dir permissions', () => {
  it('tightens an existing, loose data dir: 0700 folders, 0600 files, links left alone', () => {
    const root = temp()
    const dir = join(root, 'data')
    mkdirSync(join(dir, 'logs'), { recursive: true })
    chmodSync(dir, 0o755)
    chmodSync(join(dir, 'logs'), 0o775)
    writeFileSync(join(dir, 'engine.sqlite'), 'x', { mode: 0o644 })
    writeFileSync(join(dir, 'logs', 'engine.log'), 'x', { mode: 0o666 })
    const outside = join(root, 'outside.txt')
    writeFileSync(outside, 'x', { mode: 0o644 })
    symlinkSync(outside, join(dir, 'link'))
    secureDataDir(dir)
    expect(modeOf(dir)).toBe(0o700)
    expect(modeOf(join(dir, 'logs'))).toBe(0o700)
    expect(modeOf(join(dir, 'engine.sqlite'))).toBe(0o600)
    expect(modeOf(join(dir, 'logs', 'engine.log'))).toBe(0o600)
    // A symbolic link's target is not ours to change.
    expect(modeOf(outside)).toBe(0o644)
  })

  it('the database and its WAL are private from their first byte, whatever the umask', async () => {
    const dir = join(temp(), 'fresh')
    const before = process.umask(0o022)
    const store = new Store({ dataDir: dir, migrations: [{ id: 't-001', up: 'CREATE TABLE t (v TEXT) STRICT' }] })
    try {
      await store.start()
      store.db.prepare('INSERT INTO t (v) VALUES (?)').run('x')
      expect(modeOf(dir)).toBe(0o700)
      for (const file of ['engine.sqlite', 'engine.sqlite-wal', 'engine.sqlite-shm']) {
        expect(existsSync(join(dir, file))).toBe(true)
        expect(`${file} ${modeOf(join(dir, file)).toString(8)}`).toBe(`${file} 600`)
      }
    } finally {
      await store.stop()
      process.umask(before)
    }
  })

  it('every start tightens again what was loosened since', async () => {
    const dir = join(temp(), 'again')
    const store = new Store({ dataDir: dir, migrations: [] })
    await store.start()
    await store.stop()
    chmodSync(dir, 0o755)
    chmodSync(join(dir, 'engine.sqlite'), 0o644)
    writeFileSync(join(dir, 'config.json'), '{}', { mode: 0o644 })
    await store.start()
    await store.stop()
    expect([modeOf(dir), modeOf(join(dir, 'engine.sqlite')), modeOf(join(dir, 'config.json'))]).toEqual([0o700, 0o600, 0o600])
  })
})
