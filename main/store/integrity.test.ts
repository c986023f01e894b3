import { mkdtempSync, openSync, readSync, rmSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { DATABASE_FILE } from './database.js'
import { DatabaseChecker } from './integrity.js'
import { SqliteWorkerJobs } from './sqlite-worker-jobs.js'
import { Store } from './store.js'

const dirs: string[] = []
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop().catch(() => {})
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function running(jobs?: SqliteWorkerJobs): Promise<{ store: Store; checker: DatabaseChecker; metrics: Metrics; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bsv-p2p-check-'))
  dirs.push(dataDir)
  const store = new Store({ dataDir, migrations: [{ id: 't-001', up: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT; CREATE INDEX t_v ON t (v); CREATE TABLE u (w TEXT) STRICT' }] })
  await store.start()
  stores.push(store)
  const insert = store.db.prepare('INSERT INTO t (v) VALUES (?)')
  store.db.transaction(() => {
    for (let i = 0; i < 5_000; i++) insert.run(`value ${i} ${'x'.repeat(40)}`)
  })()
  store.db.pragma('wal_checkpoint(TRUNCATE)')
  const metrics = new Metrics()
  return { store, checker: new DatabaseChecker({ store, logger: silentLogger, metrics, ...(jobs ? { jobs } : {}) }, { dataDir }), metrics, dataDir }
}

const checks = async (metrics: Metrics, result: string): Promise<number> =>
  (await metrics.registry.getSingleMetric('bsv_p2p_database_checks_total')!.get()).values.find((v) => v.labels.result === result)?.value ?? 0

// From a read-only connection in a worker thread (the engine's way), and on the engine's own
// connection (where no worker can run).
describe.each([
  ['in a worker thread', () => new SqliteWorkerJobs({ logger: silentLogger })],
  ['on the engine thread', () => undefined],
])('DatabaseChecker, %s', (_, jobs) => {
  it('finds a sound running database sound, and callers that ask at once share one check', async () => {
    const { checker, metrics, dataDir } = await running(jobs())
    const burst = Array.from({ length: 50 }, () => checker.check())
    const results = await Promise.all(burst)
    expect(results[0]).toMatchObject({ ok: true, problems: [], file: join(dataDir, DATABASE_FILE) })
    expect(new Set(results).size).toBe(1)
    expect(await checks(metrics, 'ok')).toBe(1)
    expect(checker.problem()).toBeNull()
  })

  it('finds pages garbled under the running engine, and says so as a health reason and a metric', async () => {
    const { store, checker, metrics, dataDir } = await running(jobs())
    // Garble the b-tree header of every page of table t's index past the root, on disk.
    const pages = store.db.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = 't_v' AND pagetype = 'leaf'").all().map((r) => r.pageno)
    expect(pages.length).toBeGreaterThan(3)
    const fd = openSync(join(dataDir, DATABASE_FILE), 'r+')
    for (const p of pages.slice(0, 3)) {
      const at = (p - 1) * 4096
      const b = Buffer.alloc(8)
      readSync(fd, b, 0, 8, at)
      b[3] = b[3]! ^ 0xff
      b[5] = b[5]! ^ 0xff
      writeSync(fd, b, 0, 8, at)
    }
    closeSync(fd)
    // Another connection's write: the engine's connection drops its page cache and reads the disk.
    const other = new Database(join(dataDir, DATABASE_FILE))
    other.prepare("INSERT INTO u (w) VALUES ('a write from elsewhere')").run()
    other.close()

    const found = await checker.check()
    expect(found.ok).toBe(false)
    expect(found.problems.length).toBeGreaterThan(0)
    expect(checker.problem()).toContain('found damage')
    expect(await checks(metrics, 'damaged')).toBe(1)
  })
})
