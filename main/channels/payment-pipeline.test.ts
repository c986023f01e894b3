// The pipeline's coalescing rule against scripted deps: which payments one signature covers,
// and who is answered what when a settlement is refused, a seal fails or a caller times out.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../telemetry/index.js'
import { type NewPayment, type OutgoingSettlement, PaymentPipeline, type PipelineDeps } from './payment-pipeline.js'
import { ChannelPeerError } from './protocol.js'

interface Sent {
  s: OutgoingSettlement
  ack: () => void
  refuse: (err: Error) => void
}

function world(opts: { window?: number; failSeal?: (batch: readonly NewPayment[]) => boolean; away?: () => boolean } = {}) {
  const sealed: NewPayment[][] = []
  const sent: Sent[] = []
  const rewinds: ({ seq: number; paidSats: number } | null)[] = []
  const halts: Error[] = []
  const deps: PipelineDeps = {
    window: opts.window ?? 1,
    payTimeoutMs: 10_000,
    logger: silentLogger,
    seal: async (batch) => {
      await Promise.resolve()
      if (opts.failSeal?.(batch)) throw new Error('disk full')
      sealed.push([...batch])
      const last = batch[batch.length - 1]!
      return batch.length === 1 ? { seq: last.seq, paidSats: last.paidSats, sig: 'ab' } : { seq: last.seq, paidSats: last.paidSats, sig: 'ab', payments: batch.map((p) => ({ sats: p.sats })) }
    },
    rewind: (tip) => rewinds.push(tip),
    send: (s) => new Promise<void>((ack, refuse) => sent.push({ s, ack, refuse })),
    sync: async () => ({ seq: 0, paidSats: 0 }),
    signedByUs: () => true,
    away: opts.away ?? (() => false),
    acked: () => {},
    halted: (err) => halts.push(err),
  }
  const pipeline = new PaymentPipeline(deps, 0)
  let paid = 0
  let seq = 0
  /** Reserve and pay as PayerSide does; the outcome of each call is recorded by seq. */
  const outcomes = new Map<number, string>()
  const pay = (sats: number, timeoutMs?: number): Promise<void> => {
    seq++
    paid += sats
    const s = seq
    const p = pipeline.pay({ seq: s, paidSats: paid, sats, createdAt: Date.now() }, timeoutMs)
    p.then(
      () => outcomes.set(s, 'ok'),
      (err: { code?: string }) => outcomes.set(s, err.code ?? 'error'),
    )
    return p.catch(() => {})
  }
  const settle = () => new Promise((r) => setTimeout(r, 5))
  return { pipeline, sealed, sent, rewinds, halts, pay, outcomes, settle }
}

describe('PaymentPipeline coalescing', () => {
  it('signs one settlement for all the payments queued behind a full window, listing each', async () => {
    const w = world({ window: 1 })
    const calls = Array.from({ length: 50 }, (_, i) => w.pay(i + 1))
    await w.settle()
    // The first goes alone; the other 49 wait behind it.
    expect(w.sent.map((x) => x.s.seq)).toEqual([1])
    w.sent[0]!.ack()
    await w.settle()
    expect(w.sent.map((x) => x.s.seq)).toEqual([1, 50])
    expect(w.sent[1]!.s.payments?.map((p) => p.sats)).toEqual(Array.from({ length: 49 }, (_, i) => i + 2))
    expect(w.sent[1]!.s.paidSats).toBe((50 * 51) / 2)
    w.sent[1]!.ack()
    await Promise.all(calls)
    expect(w.sealed.map((b) => b.length)).toEqual([1, 49])
    expect([...w.outcomes.values()].every((o) => o === 'ok')).toBe(true)
    expect(w.outcomes.size).toBe(50)
  })

  it('keeps one settlement per payment when nothing queues', async () => {
    const w = world({ window: 4 })
    for (let i = 0; i < 5; i++) {
      const call = w.pay(10)
      await w.settle()
      w.sent[i]!.ack()
      await call
    }
    expect(w.sealed.map((b) => b.length)).toEqual([1, 1, 1, 1, 1])
    expect(w.sent.every((x) => x.s.payments === undefined)).toBe(true)
  })

  it('a refusal mid-batch rejects exactly the calls no acknowledged settlement covers', async () => {
    const w = world({ window: 2 })
    const calls = Array.from({ length: 30 }, () => w.pay(1))
    await w.settle()
    // 1 alone, then 2..30 in one settlement as soon as a slot was free.
    expect(w.sent.map((x) => x.s.seq)).toEqual([1, 30])
    // The window is full: these wait unsigned until a slot frees.
    calls.push(...Array.from({ length: 20 }, () => w.pay(1)))
    await w.settle()
    expect(w.sealed).toHaveLength(2)
    w.sent[0]!.ack()
    await w.settle()
    const third = w.sent[2]!
    expect(third.s.payments).toHaveLength(20)
    const second = w.sent[1]!
    second.ack()
    await w.settle()
    third.refuse(new ChannelPeerError('refused', 'no'))
    await Promise.all(calls)
    const okSeqs = [...w.outcomes].filter(([, o]) => o === 'ok').map(([s]) => s)
    expect(okSeqs.sort((a, b) => a - b)).toEqual(Array.from({ length: second.s.seq }, (_, i) => i + 1))
    for (const [s, o] of w.outcomes) if (s > second.s.seq) expect(o).toBe('refused')
    expect(w.halts).toHaveLength(1)
    // Later calls are refused at once.
    await expect(w.pipeline.pay({ seq: 99, paidSats: 99, sats: 1, createdAt: 0 })).rejects.toMatchObject({ code: 'refused' })
  })

  it('a seal that fails fails its batch and every payment built on it, and rewinds to the last stored one', async () => {
    let fail = false
    const w = world({ window: 1, failSeal: () => fail })
    const calls = Array.from({ length: 10 }, () => w.pay(1))
    await w.settle()
    fail = true
    w.sent[0]!.ack()
    await Promise.all(calls)
    expect(w.outcomes.get(1)).toBe('ok')
    for (let s = 2; s <= 10; s++) expect(w.outcomes.get(s)).toBe('error')
    expect(w.rewinds.at(-1)).toBeNull()
    expect(w.halts).toHaveLength(0)
  })

  it('a caller that times out behind a full window is answered only once its payment is signed and stored', async () => {
    const w = world({ window: 1 })
    const first = w.pay(1)
    await w.settle()
    const late = w.pay(1, 20)
    await new Promise((r) => setTimeout(r, 60))
    await late
    // The timeout forced a seal although the window is full: "it stays signed" is true.
    expect(w.sealed.map((b) => b.map((p) => p.seq))).toEqual([[1], [2]])
    expect(w.outcomes.get(2)).toBe('timeout')
    w.sent[0]!.ack()
    await first
    await w.settle()
    expect(w.sent.map((x) => x.s.seq)).toEqual([1, 2])
  })

  it('a payee lost mid-batch: every caller hears unavailable (pending) once its payment is signed and stored, and the signed ones are resent', async () => {
    const w = world({ window: 1, away: () => true })
    const calls = Array.from({ length: 20 }, () => w.pay(1))
    await w.settle()
    expect(w.sealed.map((b) => b.length)).toEqual([1])
    // The link breaks under the first settlement while 19 payments wait unsigned behind it.
    w.sent[0]!.refuse(new ChannelPeerError('link_lost', 'gone'))
    await Promise.all(calls)
    expect([...w.outcomes.values()].every((o) => o === 'unavailable')).toBe(true)
    // All 20 are signed and stored (so a keyed retry finds them), in two settlements, none dropped.
    expect(w.sealed.flat().map((p) => p.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(w.sealed).toHaveLength(2)
    expect(w.rewinds).toEqual([])
    w.pipeline.stop()
  })
})
