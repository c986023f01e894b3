// Payment channel figures (issue 5), in process: two channel engines over real libp2p
// on 127.0.0.1, real SQLite (WAL, synchronous=FULL), an in-process devnet. Beside them, in
// the same run, the raw rate of durable SQLite commits on this disk: a payment costs at
// least one commit on the payee (before its ack), so that rate bounds sequential latency;
// pipelined payments share commits (group commit) and may exceed it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { openDatabase } from '../main/store/index.js'
import { type Proc, firstLine, runEntry } from '../test/helpers/processes.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide } from '../main/channels/test/harness.js'
import { type BenchResult, round, summarise } from './types.js'

function durableCommitsPerSecond(durationMs: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-'))
  const db = openDatabase(dir)
  try {
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const tx = db.transaction((v: string) => insert.run(v))
    let n = 0
    const started = performance.now()
    while (performance.now() - started < durationMs) {
      tx('x'.repeat(200))
      n++
    }
    return n / ((performance.now() - started) / 1000)
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function pipelinedAgainstRemotePayee(payer: Side, devnetUrl: string, count: number): Promise<number> {
  let proc: Proc | undefined
  try {
    proc = runEntry('bench/fixtures/channel-payee.ts', ['--devnet', devnetUrl])
    const remote = JSON.parse(await firstLine(proc)) as { peerId: string; addrs: string[] }
    await payer.libp2p.dial(multiaddr(remote.addrs[0]!))
    const channel = await payer.engine.open({ peerId: remote.peerId, capacitySats: 1_000_000 })
    for (let i = 0; i < 200; i++) await payer.engine.pay({ channelId: channel.id, sats: 1 })
    const t0 = performance.now()
    await Promise.all(Array.from({ length: count }, () => payer.engine.pay({ channelId: channel.id, sats: 1 })))
    return count / ((performance.now() - t0) / 1000)
  } finally {
    await proc?.kill()
  }
}

export async function runChannelsBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const cycles = opts.quick ? 5 : 20
  const sequential = opts.quick ? 300 : 2000
  const pipelined = opts.quick ? 1000 : 5000
  const devnet = await startDevnet()
  const sides: Side[] = []
  const results: BenchResult[] = []
  try {
    const payer = await startSide(devnet)
    const payee = await startSide(devnet)
    sides.push(payer, payee)
    await connect(payer, payee)
    await fund(devnet, payer, 20_000_000)

    const commitRate = durableCommitsPerSecond(opts.quick ? 500 : 2000)
    results.push({ name: 'raw durable SQLite commits (1 row, WAL, synchronous=FULL)', unit: 'commits/s', value: round(commitRate, 0) })

    const cycleTimes: number[] = []
    const warmupCycles = 2
    for (let i = 0; i < warmupCycles + cycles; i++) {
      const t0 = performance.now()
      const c = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })
      await payer.engine.pay({ channelId: c.id, sats: 10 })
      await payer.engine.close(c.id)
      if (i >= warmupCycles) cycleTimes.push(performance.now() - t0)
    }
    const cyc = summarise(cycleTimes)
    results.push({ name: 'open + 1 payment + cooperative close (devnet, 0 conf)', unit: 'ms', value: round(cyc.mean), p50: round(cyc.p50), p95: round(cyc.p95), p99: round(cyc.p99), max: round(cyc.max), samples: cyc.samples, target: 'audit: channel open < 1 s; ours: <= 100 ms' })

    const channel = await payer.engine.open({ peerId: payee.peerId, capacitySats: 10_000_000 })
    for (let i = 0; i < 50; i++) await payer.engine.pay({ channelId: channel.id, sats: 1 })
    const lat: number[] = []
    for (let i = 0; i < sequential; i++) {
      const t0 = performance.now()
      await payer.engine.pay({ channelId: channel.id, sats: 1 })
      lat.push(performance.now() - t0)
    }
    const l = summarise(lat)
    const seqRate = 1000 / l.mean
    results.push({
      name: 'payment latency, sequential (sign, commit, send, verify, commit, ack, commit)', unit: 'ms', value: round(l.mean, 3), p50: round(l.p50, 3), p95: round(l.p95, 3), p99: round(l.p99, 3), max: round(l.max, 3), samples: l.samples,
      baseline: round(1000 / commitRate, 3), baselineName: 'one durable commit', ratio: round(l.mean / (1000 / commitRate)), target: 'audit: p95 < 100 ms; ours: p50 <= 3 ms, p99 <= 15 ms',
    })
    results.push({ name: 'payments/s sequential', unit: 'payments/s', value: round(seqRate, 0), baseline: round(commitRate, 0), baselineName: 'durable commits/s', ratio: round(seqRate / commitRate) })

    const t0 = performance.now()
    await Promise.all(Array.from({ length: pipelined }, () => payer.engine.pay({ channelId: channel.id, sats: 1 })))
    const rate = pipelined / ((performance.now() - t0) / 1000)
    results.push({ name: 'payments/s pipelined in one channel (window 32), both sides in one process', unit: 'payments/s', value: round(rate, 0), samples: pipelined, baseline: round(commitRate, 0), baselineName: 'durable commits/s', ratio: round(rate / commitRate) })

    // As deployed: the payee in its own process, so the two sides do not share a core.
    const remote = await pipelinedAgainstRemotePayee(payer, devnet.url, pipelined)
    results.push({ name: 'payments/s pipelined in one channel (window 32), payee in its own process', unit: 'payments/s', value: round(remote, 0), samples: pipelined, baseline: round(commitRate, 0), baselineName: 'durable commits/s', ratio: round(remote / commitRate), target: '>= 1,000/s' })
  } finally {
    for (const s of sides) {
      await s.stop().catch(() => {})
      removeDir(s.dir)
    }
    await devnet.stop()
  }
  return results
}
