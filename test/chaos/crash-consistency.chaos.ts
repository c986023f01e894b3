// Crash consistency at scale (issues #7 and #15): real daemon processes on a real devnet
// process. First, the payer pays through one channel, many payments in flight at once, and
// records every payment its API acknowledged. Meanwhile either side is killed with SIGKILL
// at seeded random points and restarted from the same data directory. Afterwards: the
// payee holds every acknowledged state, both sides agree, and closing settles that amount
// on chain. Second, channels are opened, paid and closed in a loop while either side is
// killed in the middle of the open, the funding or the close; past every expiry no coin is
// left in a 2-of-2 and every settlement pays a state the payer signed.
// CHAOS_SEED=<seed> replays the same kill points and sides.
import { join } from 'node:path'
import { Transaction } from '@bsv/sdk'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DaemonProc, type DevnetProc, freePort, startDevnet, tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import { type ChannelView, devnetDaemon, directAddr, fundWallet, ok, txOutputs, walletTotal } from '../helpers/devnet-daemons.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'
import { recordSummary } from './support/results.js'

const PAYMENTS = scaled({ short: 1_000, full: 10_000 })
const LIFECYCLES = scaled({ short: 8, full: 60 })
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

    // The payer's client: CONCURRENCY callers, each payment retried as a new one when its call
    // fails. A payee that is away is answered at once (`unavailable`), so a caller waits a
    // little before it asks again, as a program would.
    const acked = new Map<number, number>() // seq -> paidSats, as the payer's API acknowledged them
    let maxAckedSeq = 0
    let attempts = 0
    const failures = new Map<string, number>()
    let payerUp = true
    const worker = async (w: number): Promise<void> => {
      while (acked.size < PAYMENTS && attempts < PAYMENTS * 10) {
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
          if (code === 'unavailable') await new Promise((r) => setTimeout(r, 200))
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
    recordSummary(summary)
  })

  it(`SIGKILL of either side in the middle of ${LIFECYCLES} opens, fundings and closes strands no coin and loses no acknowledged payment`, async () => {
    const seed = chaosSeed() + 1
    const rng = prng(seed)
    process.stdout.write(`crash-consistency lifecycles: CHAOS_SEED=${seed - 1}\n`)
    const started = Date.now()
    const dirs = { payer: tempDir(), payee: tempDir() }
    cleanups.push(dirs.payer.remove, dirs.payee.remove)
    const ports = { payer: await freePort(), payee: await freePort() }
    const config = { channels: { chainPollMs: 200, proposalTimeoutMs: 5_000 } }
    const start = (side: Side): Promise<DaemonProc> => devnetDaemon(devnet, dirs[side].path, ['--p2p-port', String(ports[side])], config)
    const procs: Record<Side, DaemonProc> = { payer: await start('payer'), payee: await start('payee') }
    cleanups.push(() => procs.payer.kill('SIGKILL'), () => procs.payee.kill('SIGKILL'))
    await fundWallet(devnet, procs.payer, FUNDED_SATS)
    const payeeAddr = await directAddr(procs.payee)
    const reconnect = (): Promise<number> => waitFor('payer reconnected to the payee', async () => (await procs.payer.call('connectPeer', { multiaddr: payeeAddr })).body.ok, 20_000, 100)
    await reconnect()
    const height = async (): Promise<number> => ((await (await fetch(`${devnet.url}/devnet/status`)).json()) as { height: number }).height
    const mine = (blocks: number): Promise<Response> => fetch(`${devnet.url}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks }) })

    const acked = new Map<string, { seq: number; paidSats: number }[]>()
    const kills: { phase: string; side: Side; delayMs: number }[] = []
    const outcomes = new Map<string, number>()
    const tally = (what: string): void => {
      outcomes.set(what, (outcomes.get(what) ?? 0) + 1)
    }
    for (let i = 0; i < LIFECYCLES; i++) {
      const phase = (['open', 'close', 'pay'] as const)[rng.int(3)]!
      const side: Side = rng.int(2) === 0 ? 'payer' : 'payee'
      const delayMs = rng.int(phase === 'open' ? 120 : 60)
      let channelId: string | null = null
      const killLater = async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, delayMs))
        await procs[side].kill('SIGKILL')
        kills.push({ phase, side, delayMs })
      }
      const opening = procs.payer.call<ChannelView>('openChannel', { peerId: procs.payee.peerId, capacitySats: 20_000 + rng.int(80_000), expiry: (await height()) + 12 })
      const killed = phase === 'open' ? killLater() : null
      const opened = await opening.catch(() => null)
      tally(`open ${opened?.body.ok ? opened.body.result!.state : (opened?.body.error?.code ?? 'cut')}`)
      if (opened?.body.ok) channelId = opened.body.result!.id
      if (!killed && channelId) {
        const pays = 1 + rng.int(4)
        for (let p = 0; p < pays; p++) {
          const res = await procs.payer.call<{ seq: number; paidSats: number }>('pay', { channelId, sats: 1 + rng.int(500) }).catch(() => null)
          if (res?.body.ok) acked.set(channelId, [...(acked.get(channelId) ?? []), res.body.result!])
        }
      }
      let killing = killed
      if (!killing && phase === 'pay' && channelId) {
        killing = killLater()
        await procs.payer.call('pay', { channelId, sats: 3 }).then((res) => {
          if (res.body.ok) acked.set(channelId!, [...(acked.get(channelId!) ?? []), res.body.result as { seq: number; paidSats: number }])
        }, () => null)
      }
      if (!killing && channelId) {
        killing = killLater()
        const closed = await procs.payer.call<ChannelView>('closeChannel', { channelId }).catch(() => null)
        tally(`close ${closed?.body.ok ? closed.body.result!.state : (closed?.body.error?.code ?? 'cut')}`)
      }
      // An open refused before the phase's point (the peer said no) still ends in a kill, so the restart below has something to replace.
      killing ??= killLater()
      await killing
      procs[side] = await start(side)
      await reconnect()
      // Where the kill left the channel, as the payer's disk has it (open, funding step, closing).
      const db = new Database(join(dirs.payer.path, 'engine.sqlite'), { readonly: true })
      try {
        const row = db.prepare('SELECT state, step FROM channels ORDER BY created_at DESC LIMIT 1').get() as { state: string; step: string | null } | undefined
        if (row) tally(`${phase} kill of ${side} left ${row.state}${row.step ? `/${row.step}` : ''}`)
      } finally {
        db.close()
      }
      if (i % 3 === 2) await mine(1)
    }

    // Drain: block by block past every expiry, the chain watches doing their work.
    const payerDb = (): Database.Database => new Database(join(dirs.payer.path, 'engine.sqlite'), { readonly: true })
    const expiries = (): number[] => {
      const db = payerDb()
      try {
        return (db.prepare('SELECT expiry FROM channels').all() as { expiry: number }[]).map((r) => r.expiry)
      } finally {
        db.close()
      }
    }
    const last = Math.max(...expiries())
    while ((await height()) <= last + 3) {
      await mine(1)
      await new Promise((r) => setTimeout(r, 400))
    }
    const terminal = ['closed', 'refunded', 'failed', 'rejected']
    await waitFor('every channel ended', async () => {
      await mine(1)
      const all = [...(await ok<ChannelView[]>(procs.payer, 'listChannels')), ...(await ok<ChannelView[]>(procs.payee, 'listChannels'))]
      return all.every((c) => terminal.includes(c.state))
    }, 60_000, 500)

    // Every sat accounted for: the two wallets hold what the faucet gave, less the fee of each
    // transaction the channels put on chain (fundings, and the settlements or refunds spending them).
    const txOf = async (txid: string): Promise<Transaction> => Transaction.fromHex(await (await fetch(`${devnet.url}/v1/bsv/devnet/tx/${txid}/hex`)).text())
    const feeOf = async (txid: string): Promise<number> => {
      const tx = await txOf(txid)
      let inputs = 0
      for (const i of tx.inputs) inputs += (await txOf(i.sourceTXID!)).outputs[i.sourceOutputIndex]!.satoshis!
      return inputs - tx.outputs.reduce((sum, o) => sum + o.satoshis!, 0)
    }
    const onChain: string[] = []
    const fundingsDb = payerDb()
    try {
      for (const r of fundingsDb.prepare('SELECT funding_txid AS txid, funding_vout AS vout FROM channels WHERE funding_txid IS NOT NULL').all() as { txid: string; vout: number }[]) {
        if ((await fetch(`${devnet.url}/v1/bsv/devnet/tx/hash/${r.txid}`)).status === 404) continue
        onChain.push(r.txid)
        const spent = await fetch(`${devnet.url}/v1/bsv/devnet/tx/${r.txid}/${r.vout}/spent`)
        if (spent.status === 200) onChain.push(((await spent.json()) as { txid: string }).txid)
      }
    } finally {
      fundingsDb.close()
    }
    let fees = 0
    for (const txid of new Set(onChain)) fees += await feeOf(txid)
    const held = async (): Promise<number> => (await walletTotal(procs.payer)) + (await walletTotal(procs.payee))
    await waitFor(`the wallets to hold ${FUNDED_SATS} - ${fees} in fees`, async () => (await held()) === FUNDED_SATS - fees, 30_000, 250).catch(async (err: Error) => {
      throw new Error(`${err.message}: they hold ${await held()}`)
    })

    // Where the coins are: no funding on chain is left unspent; every settlement pays a state the payer signed.
    await procs.payer.kill('SIGTERM')
    await procs.payee.kill('SIGTERM')
    const db = payerDb()
    const stranded: string[] = []
    const unsigned: string[] = []
    try {
      const rows = db.prepare('SELECT id, funding_txid AS txid, funding_vout AS vout, expiry, capacity_sats AS capacity, refund_payee_sig AS refundSig FROM channels WHERE funding_txid IS NOT NULL').all() as { id: string; txid: string; vout: number; expiry: number; capacity: number; refundSig: string | null }[]
      for (const r of rows) {
        if ((await fetch(`${devnet.url}/v1/bsv/devnet/tx/hash/${r.txid}`)).status === 404) continue
        const spent = await fetch(`${devnet.url}/v1/bsv/devnet/tx/${r.txid}/${r.vout}/spent`)
        if (spent.status === 404) {
          stranded.push(r.id)
          continue
        }
        const { txid } = (await spent.json()) as { txid: string }
        const tx = Transaction.fromHex(await (await fetch(`${devnet.url}/v1/bsv/devnet/tx/${txid}/hex`)).text())
        if (tx.lockTime === r.expiry) continue
        const paid = tx.outputs[0]!.satoshis!
        const signed = db.prepare('SELECT 1 FROM channel_payments WHERE channel_id = ? AND paid_sats = ? AND sig IS NOT NULL').get(r.id, paid)
        if (!signed) unsigned.push(`${r.id} pays ${paid}`)
      }
      expect({ stranded, unsigned }).toEqual({ stranded: [], unsigned: [] })
      // FUNDED_SATS (5,000,000) fund 8 channels of at most 100,000: a refusal for want of coins means a kill left some reserved.
      expect([...outcomes.keys()].filter((o) => o.includes('insufficient_funds'))).toEqual([])
      expect((db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get() as { n: number }).n).toBe(0)
    } finally {
      db.close()
    }
    const payeeStates = storedOnDiskAll(dirs.payee.path)
    const lost = [...acked].flatMap(([id, list]) => list.filter((a) => payeeStates.get(`${id}:${a.seq}`) !== a.paidSats).map((a) => `${id}:${a.seq}`))
    expect(lost).toEqual([])
    const summary = {
      scenario: 'crash-consistency-lifecycles', seed: seed - 1, lifecycles: LIFECYCLES, kills: kills.length,
      killsByPhase: Object.fromEntries(['open', 'pay', 'close'].map((p) => [p, kills.filter((k) => k.phase === p).length])),
      outcomes: Object.fromEntries(outcomes), chainTxs: new Set(onChain).size, feesSats: fees, acknowledgedPayments: [...acked.values()].reduce((n, l) => n + l.length, 0), lost: lost.length, stranded: stranded.length,
      seconds: Math.round((Date.now() - started) / 1000),
    }
    recordSummary(summary)
  })
})

/** What the lifecycle scenario's payer is given, its only coins. */
const FUNDED_SATS = 5_000_000

/** Every (channel, seq) → paidSats a payee stored. */
function storedOnDiskAll(dataDir: string): Map<string, number> {
  const db = new Database(join(dataDir, 'engine.sqlite'), { readonly: true })
  try {
    const rows = db.prepare('SELECT channel_id AS id, seq, paid_sats AS paidSats FROM channel_payments').all() as { id: string; seq: number; paidSats: number }[]
    return new Map(rows.map((r) => [`${r.id}:${r.seq}`, r.paidSats]))
  } finally {
    db.close()
  }
}
