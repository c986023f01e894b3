// What backups cost payments (issue 18: within 5 % of off), in one run: one payer, three
// payees in the same process: one with nothing backed up; one keeping the channel backup
// file (a settlement in it at most every 2 s) with the database backed up hourly (the
// defaults: no database backup falls in the run); and, to show the worst case, one that
// also makes an online database backup every 2 s (1,800 times the default rate). Rounds
// rotate the order so drift on a busy machine falls on all alike.
import { join } from 'node:path'
import { CHANNEL_BACKUP_FILE } from '../main/channels/index.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide } from '../main/channels/test/harness.js'
import { BackupKeeper } from '../main/store/index.js'
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
    keeper = new BackupKeeper({ store: stress.store, logger: silentLogger, metrics: new Metrics() }, { dir: join(stress.dir, 'backups'), everyMs: 2_000, keep: 3, onStop: false })
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
