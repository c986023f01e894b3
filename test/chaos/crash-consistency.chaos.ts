// Crash consistency at scale (issue #7): real daemon processes on a real devnet process.
// The payer pays through one channel, many payments in flight at once, and records every
// payment its API acknowledged. Meanwhile either side is killed with SIGKILL at seeded
// random points and restarted from the same data directory. Afterwards: the payee holds
// every acknowledged state, both sides agree, and closing settles that amount on chain.
// CHAOS_SEED=<seed> replays the same kill points and sides.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DaemonProc, type DevnetProc, freePort, startDevnet, tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import { type ChannelView, devnetDaemon, directAddr, fundWallet, ok, txOutputs } from './support/fuzz/devnet-daemons.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'

const PAYMENTS = scaled({ short: 1_000, full: 10_000 })
const KILLS = scaled({ short: 8, full: 50 })
const CONCURRENCY = 8
const CAPACITY = scaled({ short: 500_000, full: 1_000_000 })

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

type Side = 'payer' | 'payee'

/** Every state a dead process had committed: the payer's signed states, the payee's stored ones. */
function storedOnDisk(dataDir: string, channelId: string): { maxSeq: number; paidAt: Map<number, number> } {
  const db = new Database(join(dataDir, 'engine.sqlite'), { readonly: true })
  try {
    const rows = db.prepare('SELECT seq, paid_sats AS paidSats FROM channel_payments WHERE channel_id = ?').all(channelId) as { seq: number; paidSats: number }[]
    const paidAt = new Map(rows.map((r) => [r.seq, r.paidSats]))
    return { maxSeq: rows.reduce((m, r) => Math.max(m, r.seq), 0), paidAt }
  } finally {
    db.close()
  }
}

describe('crash consistency at scale', () => {
  it(`SIGKILL of either side at ${KILLS} random points over ${PAYMENTS} payments loses no acknowledged payment`, async () => {
    const seed = chaosSeed()
    const rng = prng(seed)
    process.stdout.write(`crash-consistency: CHAOS_SEED=${seed}\n`)
    const started = Date.now()
    const dirs = { payer: tempDir(), payee: tempDir() }
    cleanups.push(dirs.payer.remove, dirs.payee.remove)
    const ports = { payer: await freePort(), payee: await freePort() }
    const start = (side: Side): Promise<DaemonProc> => devnetDaemon(devnet, dirs[side].path, ['--p2p-port', String(ports[side])])
    const procs: Record<Side, DaemonProc> = { payer: await start('payer'), payee: await start('payee') }
    cleanups.push(() => procs.payer.kill('SIGKILL'), () => procs.payee.kill('SIGKILL'))
    await fundWallet(devnet, procs.payer, CAPACITY * 2)
    const payeeAddr = await directAddr(procs.payee)
    await ok(procs.payer, 'connectPeer', { multiaddr: payeeAddr })
    const { id: channelId } = await ok<ChannelView>(procs.payer, 'openChannel', { peerId: procs.payee.peerId, capacitySats: CAPACITY })

    // The kill schedule: points in the run (counted in acknowledged payments), half each side, seeded.
    const points = Array.from({ length: KILLS }, () => rng.between(Math.floor(PAYMENTS * 0.02), Math.floor(PAYMENTS * 0.97))).sort((x, y) => x - y)
    const sides: Side[] = Array.from({ length: KILLS }, (_, i) => (i % 2 === 0 ? 'payer' : 'payee'))
    for (let i = sides.length - 1; i > 0; i--) {
      const j = rng.int(i + 1)
      ;[sides[i], sides[j]] = [sides[j]!, sides[i]!]
    }

    // The payer's client: CONCURRENCY callers, each payment retried as a new one when its call fails.
    const acked = new Map<number, number>() // seq -> paidSats, as the payer's API acknowledged them
    let maxAckedSeq = 0
    let attempts = 0
    const failures = new Map<string, number>()
    let payerUp = true
    const worker = async (w: number): Promise<void> => {
      while (acked.size < PAYMENTS && attempts < PAYMENTS * 4) {
        if (!payerUp) {
          await new Promise((r) => setTimeout(r, 20))
          continue
        }
        attempts++
        const sats = ((attempts + w) % 7) + 1
        try {
          const res = await procs.payer.call<{ seq: number; paidSats: number }>('pay', { channelId, sats })
          if (res.body.ok) {
            const { seq, paidSats } = res.body.result!
            acked.set(seq, paidSats)
            maxAckedSeq = Math.max(maxAckedSeq, seq)
            continue
          }
          const code = res.body.error?.code ?? 'unknown'
          failures.set(code, (failures.get(code) ?? 0) + 1)
        } catch {
          failures.set('connection', (failures.get('connection') ?? 0) + 1)
        }
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const paying = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)))

    const kills: { side: Side; atAcked: number; ackedSeq: number; restartMs: number }[] = []
    for (let k = 0; k < KILLS; k++) {
      const side = sides[k]!
      await waitFor(`${points[k]} acknowledged payments`, () => acked.size >= points[k]!, 60_000, 2)
      await new Promise((r) => setTimeout(r, rng.int(25)))
      const ackedSeq = maxAckedSeq
      const atAcked = acked.size
      if (side === 'payer') payerUp = false
      await procs[side].kill('SIGKILL')
      // Straight from the dead process's database: the payer signed and stored every state
      // before sending it; the payee stored every state before acknowledging it.
      const disk = storedOnDisk(dirs[side].path, channelId)
      expect({ kill: k, side, storedSeq: disk.maxSeq >= ackedSeq }).toEqual({ kill: k, side, storedSeq: true })
      const restarted = Date.now()
      procs[side] = await start(side)
      await waitFor('payer reconnected to the payee', async () => (await procs.payer.call('connectPeer', { multiaddr: payeeAddr })).body.ok, 20_000, 100)
      payerUp = true
      kills.push({ side, atAcked, ackedSeq, restartMs: Date.now() - restarted })
      const resumedFrom = acked.size
      await waitFor(`payments resume after kill ${k} (${side})`, () => acked.size > resumedFrom || acked.size >= PAYMENTS, 40_000, 5)
    }
    await paying
    expect(acked.size).toBeGreaterThanOrEqual(PAYMENTS)

    // Both sides converge on one state: the payer's unacknowledged states were resent or voided.
    let payerView: ChannelView | null = null
    let payeeView: ChannelView | null = null
    await waitFor('payer and payee agree', async () => {
      payerView = await ok<ChannelView>(procs.payer, 'getChannel', { channelId })
      payeeView = await ok<ChannelView>(procs.payee, 'getChannel', { channelId })
      return payerView.seq === payeeView.seq && payerView.paidSats === payeeView.paidSats
    }, 30_000, 100)
    const maxAckedPaid = acked.get(maxAckedSeq)!
    expect(payeeView!.seq).toBeGreaterThanOrEqual(maxAckedSeq)
    expect(payeeView!.paidSats).toBeGreaterThanOrEqual(maxAckedPaid)

    const closed = await ok<ChannelView>(procs.payer, 'closeChannel', { channelId })
    expect(closed.settlementTxid).toMatch(/^[0-9a-f]{64}$/)
    const finalPaid = payeeView!.paidSats
    expect(await txOutputs(devnet, closed.settlementTxid!)).toEqual([finalPaid, CAPACITY - finalPaid - closed.settlementFeeSats])

    // Every acknowledged state, one by one, is in the payee's store with the same amount.
    await procs.payee.kill('SIGTERM')
    const payeeDisk = storedOnDisk(dirs.payee.path, channelId)
    const lost = [...acked].filter(([seq, paid]) => payeeDisk.paidAt.get(seq) !== paid)
    expect(lost).toEqual([])

    const summary = {
      scenario: 'crash-consistency',
      seed,
      payments: PAYMENTS,
      acked: acked.size,
      attempts,
      kills: kills.length,
      killsPayer: kills.filter((k) => k.side === 'payer').length,
      killsPayee: kills.filter((k) => k.side === 'payee').length,
      failedCalls: Object.fromEntries(failures),
      finalSeq: payeeView!.seq,
      finalPaidSats: finalPaid,
      maxAckedPaidSats: maxAckedPaid,
      lost: lost.length,
      meanRestartMs: Math.round(kills.reduce((s, k) => s + k.restartMs, 0) / Math.max(1, kills.length)),
      seconds: Math.round((Date.now() - started) / 1000),
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`)
  })
})
