import { execFileSync } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Logger, Metrics, silentLogger } from '../telemetry/index.js'
import { BackupKeeper, verifyBackup } from './backups.js'
import { mountTmpfs } from '../../test/helpers/processes.js'
import { SqliteJobCancelled } from './sqlite-jobs.js'
import { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import { Store } from './store.js'

const dirs: string[] = []
const stores: Store[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const s of stores.splice(0)) await s.stop().catch(() => {})
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-p2p-jobs-'))
  dirs.push(dir)
  return dir
}

/** A running store with `rows` rows (about 100 bytes each) in table t, indexed. */
async function storeWith(rows: number): Promise<Store> {
  const store = new Store({ dataDir: tempDir(), migrations: [{ id: 't-001', up: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT; CREATE INDEX t_v ON t (v)' }] })
  await store.start()
  stores.push(store)
  const insert = store.db.prepare('INSERT INTO t (v) VALUES (?)')
  store.db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`row ${i} ${'x'.repeat(80)}`)
  })()
  return store
}

/** A logger that keeps its warnings. */
function keepingWarnings(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = []
  const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg), child: () => logger }
  return { logger, warnings }
}

const valueOf = (db: { prepare: (sql: string) => { get: () => unknown } }): string => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n.toString()

describe('SqliteWorkerJobs', () => {
  it('backs up in a worker thread, never on the engine’s connection, while the engine commits on', async () => {
    const store = await storeWith(60_000)
    const { logger, warnings } = keepingWarnings()
    const keeper = new BackupKeeper({ store, logger, metrics: new Metrics(), jobs: new SqliteWorkerJobs({ logger }) }, { dir: join(tempDir(), 'backups'), onStop: false, identify: valueOf })
    const ownBackup = vi.spyOn(store.db, 'backup')
    // The engine writes while the copy is made: the copy is one consistent snapshot.
    let writes = 0
    let writing = true
    const insert = store.db.prepare('INSERT INTO t (v) VALUES (?)')
    const writer = (async () => {
      while (writing && writes < 10_000) {
        insert.run(`during ${writes++}`)
        await new Promise((r) => setImmediate(r))
      }
    })()
    const info = await keeper.backupNow('request')
    writing = false
    await writer
    expect(ownBackup).not.toHaveBeenCalled()
    expect(warnings).toEqual([])
    // Turns of the engine's thread went by while the worker copied and checked.
    expect(writes).toBeGreaterThan(0)
    const copied = Number(verifyBackup(info.file, valueOf))
    expect(copied).toBeGreaterThanOrEqual(60_000)
    expect(copied).toBeLessThanOrEqual(60_000 + writes)
    expect(info.wallet).toBe(String(copied))
  })

  it('answers a check of a damaged file with SQLite’s findings, and a failed job with its error', async () => {
    const store = await storeWith(5_000)
    store.db.pragma('wal_checkpoint(TRUNCATE)')
    const damaged = join(tempDir(), 'damaged.sqlite')
    copyFileSync(store.file, damaged)
    const pages = store.db.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = 't_v' AND pagetype = 'leaf'").all().map((r) => r.pageno)
    const fd = openSync(damaged, 'r+')
    for (const p of pages.slice(0, 3)) {
      const b = Buffer.alloc(8)
      readSync(fd, b, 0, 8, (p - 1) * 4096)
      b[3] = b[3]! ^ 0xff
      b[5] = b[5]! ^ 0xff
      writeSync(fd, b, 0, 8, (p - 1) * 4096)
    }
    closeSync(fd)
    const { logger, warnings } = keepingWarnings()
    const jobs = new SqliteWorkerJobs({ logger })
    expect(await jobs.run({ kind: 'check', file: store.file, mode: 'full' })).toMatchObject({ report: { ok: true, problems: [] } })
    const found = await jobs.run({ kind: 'check', file: damaged, mode: 'quick' })
    expect(found?.report.ok).toBe(false)
    expect(found?.report.problems.join('\n')).toMatch(/page|tree|corrupt/i)
    await expect(jobs.run({ kind: 'check', file: join(tempDir(), 'none.sqlite'), mode: 'quick' })).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' })
    expect(warnings).toEqual([])
  })

  it.skipIf(process.platform === 'win32')('the engine’s connection keeps its WAL lock when a worker’s connection to the same file closes', async () => {
    // On Unix, closing any descriptor of a file drops every fcntl lock the process holds on
    // it. SQLite guards against that across the connections of one library instance; the
    // worker's connection must be one of those, or another process would find the WAL index
    // unused (its "DMS" byte free) and rebuild it under the running engine.
    const store = await storeWith(1_000)
    const dmsHeld = (): string =>
      execFileSync('python3', ['-c', 'import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\ntry:\n  fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)\n  print("free")\nexcept OSError:\n  print("held")', `${store.file}-shm`])
        .toString()
        .trim()
    expect(dmsHeld()).toBe('held')
    const jobs = new SqliteWorkerJobs({ logger: silentLogger })
    expect((await jobs.run({ kind: 'check', file: store.file, mode: 'quick' }))?.report.ok).toBe(true)
    expect((await jobs.run({ kind: 'backup', source: store.file, target: join(tempDir(), 'copy.sqlite') }))?.report.ok).toBe(true)
    expect(dmsHeld()).toBe('held')
    // The probe tells a dropped lock: one plain descriptor of the file, closed, drops it.
    closeSync(openSync(`${store.file}-shm`, 'r'))
    expect(dmsHeld()).toBe('free')
  })

  it('runs one job at a time, in order: a burst of callers waits its turn, each answered', async () => {
    const store = await storeWith(20_000)
    const jobs = new SqliteWorkerJobs({ logger: silentLogger })
    let most = 0
    const sampler = setInterval(() => (most = Math.max(most, jobs.running)), 1)
    const order: number[] = []
    const burst = Array.from({ length: 6 }, (_, i) => jobs.run({ kind: 'check', file: store.file, mode: i % 2 ? 'full' : 'quick' }).then((r) => (order.push(i), r)))
    most = Math.max(most, jobs.running)
    const results = await Promise.all(burst)
    clearInterval(sampler)
    expect(results.every((r) => r?.report.ok === true)).toBe(true)
    expect(most).toBe(1)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    expect(jobs.running).toBe(0)
    // A failed job does not stop the ones behind it.
    const [failed, after] = await Promise.allSettled([jobs.run({ kind: 'check', file: join(tempDir(), 'none.sqlite'), mode: 'quick' }), jobs.run({ kind: 'check', file: store.file, mode: 'quick' })])
    expect(failed.status).toBe('rejected')
    expect(after).toMatchObject({ status: 'fulfilled', value: { report: { ok: true } } })
  })

  it('a backup copying in steps is cancelled between them; one cancelled while waiting its turn is answered at once and never starts', async () => {
    const store = await storeWith(250_000)
    const jobs = new SqliteWorkerJobs({ logger: silentLogger })
    const target = join(tempDir(), 'stepped.sqlite')
    const cancel = new AbortController()
    const stepped = jobs.run({ kind: 'backup', source: store.file, target, pagesPerStep: 16 }, cancel.signal)
    const waiting = new AbortController()
    const queuedTarget = join(tempDir(), 'queued.sqlite')
    const queued = jobs.run({ kind: 'backup', source: store.file, target: queuedTarget }, waiting.signal)
    let runningWhenRefused = -1
    queued.catch(() => (runningWhenRefused = jobs.running))
    await vi.waitFor(() => expect(jobs.running).toBe(1))
    waiting.abort()
    // Cancelled once the copy is under way (its file has pages in it).
    await vi.waitFor(() => expect(existsSync(target) && statSync(target).size > 0).toBe(true), { timeout: 10_000, interval: 1 })
    cancel.abort()
    await expect(stepped).rejects.toBeInstanceOf(SqliteJobCancelled)
    // SQLite's backup removes the file it made when it does not finish.
    expect(existsSync(target)).toBe(false)
    await expect(queued).rejects.toBeInstanceOf(SqliteJobCancelled)
    // Answered at once, while the job ahead of it still ran: a stop does not wait behind it.
    expect(runningWhenRefused).toBe(1)
    expect(existsSync(queuedTarget)).toBe(false)
    // Not cancelled, the same stepped copy is whole.
    const whole = await jobs.run({ kind: 'backup', source: store.file, target: join(tempDir(), 'whole.sqlite'), pagesPerStep: 16 }, new AbortController().signal)
    expect(whole?.report.ok).toBe(true)
  })

  it('where no worker can run, the backup is made on the engine’s thread as before, with one warning', async () => {
    const store = await storeWith(1_000)
    const { logger, warnings } = keepingWarnings()
    const jobs = new SqliteWorkerJobs({ logger }, { url: new URL('file:///nowhere/sqlite-worker.cjs'), typescript: false })
    const keeper = new BackupKeeper({ store, logger, metrics: new Metrics(), jobs }, { dir: join(tempDir(), 'backups'), onStop: false, identify: valueOf })
    const ownBackup = vi.spyOn(store.db, 'backup')
    const first = await keeper.backupNow('request')
    await new Promise((r) => setTimeout(r, 5))
    const second = await keeper.backupNow('request')
    expect(ownBackup).toHaveBeenCalledTimes(2)
    expect([first.wallet, second.wallet]).toEqual(['1000', '1000'])
    expect(verifyBackup(second.file, valueOf)).toBe('1000')
    expect(warnings).toEqual(['backups and database checks run on the engine thread (pausing it for their length): their worker thread could not run'])
  })
})

describe('SqliteWorkerJobs on a disk that fills up', () => {
  // Mounted only when this test runs (a filtered run mounts nothing), unmounted after it.
  let holder: string | null = null
  afterEach(() => {
    if (!holder) return
    execFileSync('umount', ['-l', join(holder, 'mnt')], { stdio: 'ignore' })
    rmSync(holder, { recursive: true, force: true })
    holder = null
  })

  it('a backup the disk cannot hold fails in the worker: no partial file left, a health problem, the engine writes on', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'bsv-p2p-jobs-disk-'))
    const mnt = join(dir, 'mnt')
    mkdirSync(mnt)
    if (!mountTmpfs(mnt, '2m')) {
      rmSync(dir, { recursive: true, force: true })
      process.stderr.write('sqlite-worker-jobs: cannot mount a tmpfs here (needs root); the disk-full backup test is skipped\n')
      ctx.skip()
      return
    }
    holder = dir
    const store = await storeWith(40_000)
    const { logger, warnings } = keepingWarnings()
    const keeper = new BackupKeeper({ store, logger, metrics: new Metrics(), jobs: new SqliteWorkerJobs({ logger }) }, { dir: mnt, onStop: false })
    await expect(keeper.backupNow('request')).rejects.toMatchObject({ code: 'SQLITE_FULL' })
    expect(readdirSync(mnt)).toEqual([])
    expect(keeper.problem()).toMatch(/^the last database backup failed at .*database or disk is full/)
    expect(warnings).toEqual(['database backup failed'])
    store.db.prepare('INSERT INTO t (v) VALUES (?)').run('after the failed backup')
  })
})
