import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { BackupKeeper, listBackups, verifyBackup } from './backups.js'
import { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import { Store } from './store.js'

// In a worker thread (the engine's way), and on the engine's thread (where no worker can run).
describe.each([
  ['in a worker thread', () => ({ jobs: new SqliteWorkerJobs({ logger: silentLogger }) })],
  ['on the engine thread', () => ({})],
])('BackupKeeper, %s', (_, jobs) => {
  const dirs: string[] = []
  afterEach(() => {
    vi.useRealTimers()
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('a backup that cannot be written is a health problem until one succeeds; each kept one checks out', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bsv-backups-'))
    dirs.push(dataDir)
    const store = new Store({ dataDir, migrations: [{ id: 't-001', up: 'CREATE TABLE t (v TEXT NOT NULL) STRICT' }] })
    await store.start()
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('kept')
    // A file where the backup folder should be: every backup fails.
    const blocked = join(dataDir, 'blocked')
    writeFileSync(blocked, 'not a folder')
    const metrics = new Metrics()
    const failing = new BackupKeeper({ store, logger: silentLogger, metrics, ...jobs() }, { dir: join(blocked, 'backups'), onStop: false })
    await expect(failing.backupNow('request')).rejects.toThrow()
    expect(failing.problem()).toMatch(/^the last database backup failed at .*; retrying on schedule$/)

    const metrics2 = new Metrics()
    mkdirSync(join(dataDir, 'backups'))
    writeFileSync(join(dataDir, 'backups', 'engine-20260101T000000000Z.sqlite.partial'), 'cut short')
    const keeper = new BackupKeeper({ store, logger: silentLogger, metrics: metrics2, ...jobs() }, { dir: join(dataDir, 'backups'), keep: 2, identify: (db) => (db.prepare('SELECT v FROM t').get() as { v: string }).v })
    await keeper.start()
    expect(existsSync(join(dataDir, 'backups', 'engine-20260101T000000000Z.sqlite.partial'))).toBe(false)
    // A backup is named by the millisecond it was made: each of these is made a second after
    // the one before on a fake calendar (only Date is faked; SQLite's backup runs for real).
    vi.useFakeTimers({ toFake: ['Date'] })
    for (let i = 0; i < 4; i++) {
      vi.setSystemTime(Date.now() + 1000)
      const info = await keeper.backupNow('request')
      expect(info.wallet).toBe('kept')
    }
    expect(keeper.problem()).toBeNull()
    const kept = listBackups(join(dataDir, 'backups'))
    expect(kept).toHaveLength(2)
    for (const file of kept) expect(verifyBackup(file, (db) => (db.prepare('SELECT v FROM t').get() as { v: string }).v)).toBe('kept')
    expect((await metrics2.registry.getSingleMetricAsString('bsv_p2p_backups_total')).includes('result="ok"} 4')).toBe(true)
    await keeper.stop()
    await store.stop()
  })
})
