// What backups cost payments (issue 18: within 5 % of off), in one run: one payer, three
// payees in the same process: one with nothing backed up; one keeping the channel backup
// file (a settlement in it at most every 2 s) with the database backed up hourly (the
// defaults: no database backup falls in the run); and, to show the worst case, one that
// also makes an online database backup every 2 s (1,800 times the default rate). Rounds
// rotate the order so drift on a busy machine falls on all alike.
// Then a month of a busy wallet's database (--quick: a week): how long one backup and one
// full check hold the engine's thread, in their worker thread (the engine's way) against
// the same on the engine's own thread, in the same run.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHANNEL_BACKUP_FILE } from '../main/channels/index.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide } from '../main/channels/test/harness.js'
import { BackupKeeper, DatabaseChecker, SqliteWorkerJobs, Store } from '../main/store/index.js'
import { Metrics, silentLogger } from '../main/telemetry/index.js'
import { type BenchResult, round, summarise } from './types.js'

type Mode = 'off' | 'file' | 'stress'

export async function runBackupsBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const rounds = opts.quick ? 3 : 6
  const pipelined = opts.quick ? 1000 : 4000
  const sequential = opts.quick ? 200 : 1000
  const devnet = await startDevnet()
  const sides: Side[] = []
  let keeper: BackupKeeper | null = null
  try {
    const payer = await startSide(devnet)
    const off = await startSide(devnet)
    sides.push(payer, off)
    const backed = async (): Promise<Side> => {
      const first = await startSide(devnet, {})
      // Again with the channel file: its engine is made with the backup init.
      await first.stop()
      const side = await startSide(devnet, { dir: first.dir, key: first.key, port: first.port, init: { backup: { paths: [join(first.dir, 'backups', CHANNEL_BACKUP_FILE)] } } })
      sides.push(side)
      return side
    }
    const file = await backed()
    const stress = await backed()
    keeper = new BackupKeeper({ store: stress.store, logger: silentLogger, metrics: new Metrics(), jobs: new SqliteWorkerJobs({ logger: silentLogger }) }, { dir: join(stress.dir, 'backups'), everyMs: 2_000, keep: 3, onStop: false })
    await keeper.start()
    for (const s of [off, file, stress]) await connect(payer, s)
    await fund(devnet, payer, 40_000_000)
    const channels = {
      off: (await payer.engine.open({ peerId: off.peerId, capacitySats: 10_000_000 })).id,
      file: (await payer.engine.open({ peerId: file.peerId, capacitySats: 10_000_000 })).id,
      stress: (await payer.engine.open({ peerId: stress.peerId, capacitySats: 10_000_000 })).id,
    }
    for (const id of Object.values(channels)) for (let i = 0; i < 100; i++) await payer.engine.pay({ channelId: id, sats: 1 })

    const modes = ['off', 'file', 'stress'] as const
    const rates: Record<Mode, number[]> = { off: [], file: [], stress: [] }
    const latencies: Record<Mode, number[]> = { off: [], file: [], stress: [] }
    for (let r = 0; r < rounds; r++) {
      for (const mode of [...modes.slice(r % 3), ...modes.slice(0, r % 3)]) {
        const id = channels[mode]
        const t0 = performance.now()
        await Promise.all(Array.from({ length: pipelined }, () => payer.engine.pay({ channelId: id, sats: 1 })))
        rates[mode].push(pipelined / ((performance.now() - t0) / 1000))
        for (let i = 0; i < sequential; i++) {
          const s = performance.now()
          await payer.engine.pay({ channelId: id, sats: 1 })
          latencies[mode].push(performance.now() - s)
        }
      }
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    const offRate = mean(rates.off)
    const offLat = summarise(latencies.off)
    const filesOf = async (side: Side): Promise<number> => Number(await side.engine.components.metrics.registry.getSingleMetric('bsv_p2p_channel_backup_writes_total')?.get().then((m) => m.values.reduce((a, v) => a + v.value, 0)))
    const results: BenchResult[] = [
      { name: 'payments/s pipelined, backups off', unit: 'payments/s', value: round(offRate, 0), samples: pipelined * rounds },
      { name: 'payment latency sequential, backups off', unit: 'ms', value: round(offLat.mean, 3), p50: round(offLat.p50, 3), p95: round(offLat.p95, 3), p99: round(offLat.p99, 3), max: round(offLat.max, 3), samples: offLat.samples },
    ]
    const labels: Record<Exclude<Mode, 'off'>, { name: string; side: Side; target?: true }> = {
      file: { name: 'channel file every 2 s + database hourly (defaults)', side: file, target: true },
      stress: { name: 'channel file + database backup every 2 s (worst case)', side: stress },
    }
    for (const [mode, { name, side, target }] of Object.entries(labels) as [Exclude<Mode, 'off'>, (typeof labels)['file']][]) {
      const rate = mean(rates[mode])
      const lat = summarise(latencies[mode])
      results.push(
        {
          name: `payments/s pipelined, ${name}`, unit: 'payments/s', value: round(rate, 0), samples: pipelined * rounds,
          baseline: round(offRate, 0), baselineName: 'backups off, same run', ratio: round(rate / offRate, 3), ...(target ? { target: 'ratio >= 0.95' } : {}), note: `${await filesOf(side)} channel files written`,
        },
        {
          name: `payment latency sequential, ${name}`, unit: 'ms', value: round(lat.mean, 3), p50: round(lat.p50, 3), p95: round(lat.p95, 3), p99: round(lat.p99, 3), max: round(lat.max, 3), samples: lat.samples,
          baseline: round(offLat.p99, 3), baselineName: 'p99 backups off, same run', ratio: round(lat.p99 / offLat.p99, 3), ...(target ? { target: 'p99 ratio <= 1.05' } : {}),
        },
      )
    }
    results.push(...(await largeDatabase(opts.quick ?? false)))
    return results
  } finally {
    await keeper?.stop()
    for (const s of sides) {
      await s.stop().catch(() => {})
      removeDir(s.dir)
    }
    await devnet.stop()
  }
}

/**
 * A large database in a store of its own: channel payment rows as the engine writes them
 * (about 200 bytes with their signature), 3,000,000 of them for a month of the busy
 * day (100,000 payments), 700,000 with --quick. Each of a backup and an integrity_check,
 * twice each way.
 */
async function largeDatabase(quick: boolean): Promise<BenchResult[]> {
  const rows = quick ? 700_000 : 3_000_000
  const dataDir = mkdtempSync(join(tmpdir(), 'bsv-p2p-bench-bigdb-'))
  const store = new Store({ dataDir, migrations: [{ id: 'p-001', up: 'CREATE TABLE p (channel_id TEXT NOT NULL, seq INTEGER NOT NULL, sats INTEGER NOT NULL, paid_sats INTEGER NOT NULL, sig TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (channel_id, seq)) STRICT' }] })
  try {
    await store.start()
    const insert = store.db.prepare('INSERT INTO p VALUES (?, ?, 1, ?, ?, ?)')
    const sig = `3044${'ab'.repeat(68)}`
    const fill = store.db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(`channel-${(i % 6000).toString().padStart(26, '0')}`, i, i, sig, 1_796_000_000_000 + i)
    })
    for (let i = 0; i < rows; i += 100_000) fill(i, Math.min(rows, i + 100_000))
    store.db.pragma('wal_checkpoint(TRUNCATE)')
    const mb = statSync(store.file).size / 1024 / 1024
    const workers = new SqliteWorkerJobs({ logger: silentLogger })
    const engineThread = new SqliteWorkerJobs({ logger: silentLogger }, null)
    // The longest gap between two turns of a 5 ms timer, read a while after the job so a
    // pause at its very end is seen too.
    const timed = async (job: () => Promise<unknown>): Promise<{ ms: number; pauseMs: number }> => {
      let last = performance.now()
      let pauseMs = 0
      const ticker = setInterval(() => {
        const now = performance.now()
        pauseMs = Math.max(pauseMs, now - last)
        last = now
      }, 5)
      const t0 = performance.now()
      await job()
      const ms = performance.now() - t0
      await new Promise((r) => setTimeout(r, 50))
      clearInterval(ticker)
      return { ms, pauseMs }
    }
    const results: BenchResult[] = []
    for (const what of ['backup', 'integrity_check'] as const) {
      const run = (jobs: SqliteWorkerJobs): Promise<unknown> => {
        const metrics = new Metrics()
        if (what === 'integrity_check') return new DatabaseChecker({ store, logger: silentLogger, metrics, jobs }, { dataDir }).check()
        return new BackupKeeper({ store, logger: silentLogger, metrics, jobs }, { dir: join(dataDir, 'backups'), keep: 1, onStop: false }).backupNow('request')
      }
      // Each way twice, alternating; the better of each kept (the page cache warm for both).
      const off: { ms: number; pauseMs: number }[] = []
      const on: { ms: number; pauseMs: number }[] = []
      for (let i = 0; i < 2; i++) {
        off.push(await timed(() => run(engineThread)))
        on.push(await timed(() => run(workers)))
      }
      const best = (xs: { ms: number; pauseMs: number }[]): { ms: number; pauseMs: number } => xs.reduce((a, b) => (b.pauseMs < a.pauseMs ? b : a))
      const [w, e] = [best(on), best(off)]
      results.push({
        name: `engine thread's longest pause during ${what === 'backup' ? 'a backup' : 'an integrity_check'} of a ${mb.toFixed(0)} MiB database, worker thread`, unit: 'ms', value: round(w.pauseMs, 1), max: round(w.pauseMs, 1), samples: 2,
        baseline: round(e.pauseMs, 1), baselineName: 'the same on the engine thread, same run', ratio: round(w.pauseMs / e.pauseMs, 3), target: 'ratio <= 0.1',
        note: `${what} took ${w.ms.toFixed(0)} ms in the worker, ${e.ms.toFixed(0)} ms on the engine thread`,
      })
    }
    return results
  } finally {
    await store.stop().catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
  }
}
