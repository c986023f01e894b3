import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Logger, Metrics, silentLogger } from '../telemetry/index.js'
import { BackupKeeper, firstBackupDueIn, listBackups, verifyBackup } from './backups.js'
import { SqliteJobCancelled } from './sqlite-jobs.js'
import { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import type { Db } from './database.js'
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

  /** A running store in a new data dir, with one table t (v of `type`). */
  async function storeWithTable(type: 'TEXT' | 'BLOB'): Promise<{ dataDir: string; store: Store }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'bsv-backups-'))
    dirs.push(dataDir)
    const store = new Store({ dataDir, migrations: [{ id: 't-001', up: `CREATE TABLE t (v ${type} NOT NULL) STRICT` }] })
    await store.start()
    return { dataDir, store }
  }

  it('a backup that cannot be written is a health problem until one succeeds; each kept one checks out', async () => {
    const { dataDir, store } = await storeWithTable('TEXT')
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

  it('a backup on schedule or at a stop is not made when nothing changed since the last good one (and is when the file is gone); one asked for always is', async () => {
    const { dataDir, store } = await storeWithTable('TEXT')
    const dir = join(dataDir, 'backups')
    const metrics = new Metrics()
    const keeper = new BackupKeeper({ store, logger: silentLogger, metrics, ...jobs() }, { dir })
    await keeper.start()
    vi.useFakeTimers({ toFake: ['Date'] })
    const tick = (): void => void vi.setSystemTime(Date.now() + 1000)
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('one')
    const first = await keeper.backupNow('schedule')
    tick()
    expect(await keeper.backupNow('schedule')).toEqual(first)
    expect(listBackups(dir)).toEqual([first.file])
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('two')
    tick()
    const second = await keeper.backupNow('schedule')
    expect(second.file).not.toBe(first.file)
    tick()
    const asked = await keeper.backupNow('request')
    expect(asked.file).not.toBe(second.file)
    // The last one deleted by hand: the next is made, unchanged or not.
    rmSync(asked.file)
    tick()
    const again = await keeper.backupNow('schedule')
    expect(existsSync(again.file)).toBe(true)
    // Nothing changed since: the stop makes none either.
    tick()
    await keeper.stop()
    expect(listBackups(dir)).toEqual([again.file, second.file, first.file])
    const counts = await metrics.registry.getSingleMetricAsString('bsv_p2p_backups_total')
    expect(counts).toContain('result="ok"} 4')
    expect(counts).toContain('result="unchanged"} 2')
    // An idle node's newest backup is still whole: its age does not grow.
    expect(Number(/^bsv_p2p_backup_last_success_timestamp_seconds (\S+)$/m.exec(await metrics.registry.getSingleMetricAsString('bsv_p2p_backup_last_success_timestamp_seconds'))?.[1])).toBe(Date.now() / 1000)
    await store.stop()
  })

  it("the stop's backup is given up at its budget (and one still running at the stop with it), or not begun when the last one's pace says it cannot end in time: no new or partial file, a warning, not a health problem; with room it is made", async () => {
    const { dataDir, store } = await storeWithTable('BLOB')
    // 24 MiB: more than one step of the stop's copy, and of the engine thread's.
    const insert = store.db.prepare('INSERT INTO t (v) VALUES (randomblob(16384))')
    store.db.transaction(() => {
      for (let i = 0; i < 1536; i++) insert.run()
    })()
    const dir = join(dataDir, 'backups')
    const warnings: { msg: string; expectedMs?: unknown }[] = []
    const logger: Logger = { ...silentLogger, warn: (msg, fields) => void warnings.push({ msg, expectedMs: fields?.expectedMs }), child: () => logger }
    const metrics = new Metrics()
    const partials = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'))

    // No backup yet this run: begun, and cut at the budget.
    const before = await new BackupKeeper({ store, logger: silentLogger, metrics: new Metrics(), ...jobs() }, { dir, onStop: false }).backupNow('request')
    const cut = new BackupKeeper({ store, logger, metrics, ...jobs() }, { dir, stopBudgetMs: 1 })
    await cut.start()
    await cut.stop()
    expect(listBackups(dir)).toEqual([before.file])
    expect(partials()).toEqual([])
    expect(warnings).toEqual([{ msg: expect.stringMatching(/^a database backup was given up at the stop's budget/), expectedMs: undefined }])
    expect(cut.problem()).toBeNull()

    // One made this run at a pace the budget cannot hold: the stop's is not begun.
    const paced = new BackupKeeper({ store, logger, metrics, ...jobs() }, { dir, stopBudgetMs: 1 })
    await paced.start()
    const made = await paced.backupNow('request')
    store.db.prepare('DELETE FROM t WHERE rowid = 1').run()
    await paced.stop()
    expect(listBackups(dir)).toEqual([made.file, before.file])
    expect(partials()).toEqual([])
    expect(warnings[1]?.expectedMs).toBeGreaterThan(1)
    expect(await metrics.registry.getSingleMetricAsString('bsv_p2p_backups_total')).toContain('result="cut"} 2')

    // One asked for just before the stop shares its budget, and is cut with it.
    const busy = new BackupKeeper({ store, logger, metrics, ...jobs() }, { dir, stopBudgetMs: 1 })
    await busy.start()
    store.db.prepare('DELETE FROM t WHERE rowid = 2').run()
    const asked = busy.backupNow('request')
    await busy.stop()
    await expect(asked).rejects.toBeInstanceOf(SqliteJobCancelled)
    expect(listBackups(dir)).toEqual([made.file, before.file])
    expect(partials()).toEqual([])
    expect(warnings).toHaveLength(4)
    expect(await metrics.registry.getSingleMetricAsString('bsv_p2p_backups_total')).toContain('result="cut"} 4')

    const roomy = new BackupKeeper({ store, logger, metrics: new Metrics(), ...jobs() }, { dir, stopBudgetMs: 60_000 })
    await roomy.start()
    await roomy.stop()
    const kept = listBackups(dir)
    expect(kept).toHaveLength(3)
    expect(verifyBackup(kept[0] ?? '')).toBeNull()
    expect(warnings).toHaveLength(4)
    await store.stop()
  })

  it('a clock set back does not make new backups sort as the oldest (each would be rotated out as soon as made): they are named just after the newest, with one warning', async () => {
    const { dataDir, store } = await storeWithTable('TEXT')
    const dir = join(dataDir, 'backups')
    const extraDir = join(dataDir, 'elsewhere')
    const newestValue = (db: Db): string => (db.prepare('SELECT v FROM t ORDER BY rowid DESC LIMIT 1').get() as { v: string }).v
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg), child: () => logger }
    const keeper = new BackupKeeper({ store, logger, metrics: new Metrics(), ...jobs() }, { dir, extraDir, keep: 2, identify: newestValue })
    await keeper.start()
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('made a day ahead')
    const ahead = await keeper.backupNow('request')
    // Made with the clock a day ahead, which is then set right (a day back); and a stray
    // file from no clock at all, which is not followed.
    const dayAheadName = `engine-${new Date(Date.now() + 86_400_000).toISOString().replace(/[-:.]/g, '')}.sqlite`
    copyFileSync(ahead.file, join(dir, dayAheadName))
    copyFileSync(ahead.file, join(extraDir, dayAheadName))
    const stray = join(dir, 'engine-99991231T235959999Z.sqlite')
    copyFileSync(ahead.file, stray)
    for (const v of ['after one', 'after two']) {
      store.db.prepare('INSERT INTO t (v) VALUES (?)').run(v)
      await keeper.backupNow('request')
    }
    for (const place of [dir, extraDir]) {
      const kept = listBackups(place).filter((f) => f !== stray)
      expect(kept).toHaveLength(place === dir ? 1 : 2)
      expect(kept.map((f) => verifyBackup(f, newestValue))).toEqual(place === dir ? ['after two'] : ['after two', 'after one'])
      expect(kept.every((f) => f > join(place, dayAheadName))).toBe(true)
    }
    expect(warnings).toEqual(['the clock is behind the newest backup: backups are named just after it, to keep their order; check the system clock'])
    await keeper.stop()
    await store.stop()
  })

  it('keeps one schedule across a stop and a start made while a scheduled backup runs', async () => {
    const { dataDir, store } = await storeWithTable('TEXT')
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const keeper = new BackupKeeper({ store, logger: silentLogger, metrics: new Metrics(), ...jobs() }, { dir: join(dataDir, 'backups'), everyMs: 1_000, onStop: false })
    await keeper.start()
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('one')
    vi.advanceTimersByTime(1_000)
    const scheduled = keeper.backupNow('schedule')
    const stopped = keeper.stop()
    await keeper.start()
    await scheduled
    await stopped
    await new Promise((resolve) => setImmediate(resolve))
    // The new start's timer, and not a second one from the backup that ran across the restart.
    expect(vi.getTimerCount()).toBe(1)
    await keeper.stop()
    await store.stop()
  })
})

describe('firstBackupDueIn', () => {
  const hour = 3_600_000
  const now = Date.parse('2026-12-05T12:00:00Z')
  it('is everyMs after the newest backup, across restarts (a minute in when there is none), but not before a minute into the run', () => {
    expect(firstBackupDueIn(null, now, hour)).toBe(60_000)
    expect(firstBackupDueIn(now - 10 * 60_000, now, hour)).toBe(50 * 60_000)
    expect(firstBackupDueIn(now - hour + 5_000, now, hour)).toBe(60_000)
    expect(firstBackupDueIn(now - 3 * hour, now, hour)).toBe(60_000)
  })
  it('waits no longer than everyMs when the newest backup is from the future (the clock went back), and no minute when everyMs is shorter', () => {
    expect(firstBackupDueIn(now + 10 * hour, now, hour)).toBe(hour)
    expect(firstBackupDueIn(now - 60_000, now, 5_000)).toBe(5_000)
  })
})
