// Coalesced settlements over real libp2p and SQLite: under load one signature covers many
// payments, yet every call is answered with its own seq and both sides keep a row per
// payment; a payer that lies in a coalesced frame is refused with nothing stored; a halt in
// the middle of a batch rejects exactly the calls no acknowledged settlement covers.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { OutgoingRequest } from './protocol.js'
import type { PayerOpen } from './records.js'
import { selectBackend } from './signer.js'
import { type Pair, sendOneFrame, usePair, waitUntil } from './test/harness.js'

interface Row {
  seq: number
  sats: number
  paidSats: number
  memo: string | null
  signed: number
}

function rows(dir: string, channelId: string): Row[] {
  const db = new Database(join(dir, 'engine.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT seq, sats, paid_sats AS paidSats, memo, sig IS NOT NULL AS signed FROM channel_payments WHERE channel_id = ? ORDER BY seq').all(channelId) as Row[]
  } finally {
    db.close()
  }
}

async function settlementCount(side: Pair['payer'], role: 'payer' | 'payee'): Promise<number> {
  const json = await side.engine.components.metrics.registry.getMetricsAsJSON()
  const metric = json.find((m) => m.name === 'bsv_p2p_channel_settlements_total')
  return Number(metric?.values.find((v) => v.labels.role === role)?.value ?? 0)
}

describe('coalesced settlements', () => {
  const pair = usePair(2_000_000)

  it('under load one signature covers many payments; each call gets its own seq and a row on both sides', async () => {
    const { payer, payee } = pair
    const channelId = (await payer.engine.open({ peerId: payee.peerId, capacitySats: 400_000 })).id
    const count = 400
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => payer.engine.pay({ channelId, sats: 1 + (i % 7), ...(i % 5 === 0 ? { memo: `m${i}` } : {}) })),
    )
    const payerSigs = await settlementCount(payer, 'payer')
    const payeeSigs = await settlementCount(payee, 'payee')
    expect(payerSigs).toBeGreaterThan(0)
    expect(payerSigs).toBeLessThan(count)
    expect(payeeSigs).toBeLessThan(count)

    // One seq per call, 1..count, and the cumulative amount at that payment.
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    await waitUntil(() => payer.engine.get(channelId).seq === count, 10_000, 'the payer books the last ack')
    const payerRows = rows(payer.dir, channelId)
    const payeeRows = rows(payee.dir, channelId)
    expect(payerRows).toHaveLength(count)
    expect(payeeRows).toHaveLength(count)
    // The same rows on both sides: amount, cumulative amount, memo, and which ones carry a signature.
    expect(payeeRows).toEqual(payerRows)
    expect(payerRows.filter((r) => r.signed === 1)).toHaveLength(payerSigs)
    const bySeq = new Map(payeeRows.map((r) => [r.seq, r]))
    for (const [i, r] of results.entries()) {
      expect(bySeq.get(r.seq)?.paidSats).toBe(r.paidSats)
      // Calls are reserved in call order, so call i is payment i + 1.
      expect(r.seq).toBe(i + 1)
      expect(bySeq.get(r.seq)).toMatchObject({ sats: 1 + (i % 7), memo: i % 5 === 0 ? `m${i}` : null })
    }
    expect(payee.engine.get(channelId)).toMatchObject({ seq: count, paidSats: results.at(-1)!.paidSats })
    expect(payee.engine.get(channelId).payments.length).toBeGreaterThan(0)

    // Sequential payments keep one settlement each.
    const before = await settlementCount(payer, 'payer')
    for (let i = 0; i < 3; i++) await payer.engine.pay({ channelId, sats: 1 })
    expect(await settlementCount(payer, 'payer')).toBe(before + 3)
  }, 60_000)

  it('refuses a lying coalesced frame (wrong sum, oversize list, bad amounts, replays) and stores nothing', async () => {
    const { payer, payee } = pair
    const channelId = (await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })).id
    for (let i = 0; i < 3; i++) await payer.engine.pay({ channelId, sats: 100 })
    const rec = payer.engine.book.get(channelId) as PayerOpen
    const signed = (paidSats: number): string => Buffer.from(payer.engine.tx.settlement(rec).sign(paidSats, payer.wallet.channelPrivateKey(rec.keyIndex), selectBackend())).toString('hex')
    const snapshot = (): unknown => ({ channel: payee.engine.book.repo.get(channelId), rows: rows(payee.dir, channelId) })
    const send = (frame: OutgoingRequest): Promise<string> => sendOneFrame(payer, payee.peerId, frame)
    const pay = (seq: number, paidSats: number, payments: unknown[], extra: Record<string, unknown> = {}): OutgoingRequest => ({ t: 'pay', channelId, seq, paidSats, sig: signed(paidSats), payments, ...extra }) as OutgoingRequest
    const before = snapshot()
    const cases: [string, OutgoingRequest, string][] = [
      ['sum below the growth', pay(5, 500, [{ sats: 100 }, { sats: 99 }]), 'malformed'],
      ['sum above the growth', pay(5, 500, [{ sats: 100 }, { sats: 101 }]), 'malformed'],
      ['count does not match the span', pay(6, 500, [{ sats: 100 }, { sats: 100 }]), 'refused'],
      ['zero amount', pay(5, 500, [{ sats: 200 }, { sats: 0 }]), 'malformed'],
      ['negative amount', pay(5, 500, [{ sats: 300 }, { sats: -100 }]), 'malformed'],
      ['fractional amount', pay(5, 500, [{ sats: 150.5 }, { sats: 49.5 }]), 'malformed'],
      ['more entries than a settlement may list', pay(1004, 1300, Array.from({ length: 1001 }, () => ({ sats: 1 }))), 'malformed'],
      ['an empty list', pay(3, 300, []), 'malformed'],
      ['memo too long in an entry', pay(5, 500, [{ sats: 100 }, { sats: 100, memo: 'x'.repeat(257) }]), 'malformed'],
      ['memo beside a list', pay(5, 500, [{ sats: 100 }, { sats: 100 }], { memo: 'hi' }), 'malformed'],
      ['unknown field in an entry', pay(5, 500, [{ sats: 100 }, { sats: 100, seq: 5 }]), 'malformed'],
      ['replayed seq with another state', pay(3, 500, [{ sats: 100 }, { sats: 100 }]), 'conflict'],
      ['duplicated seq (overlaps the stored ones)', pay(4, 500, [{ sats: 100 }, { sats: 100 }]), 'refused'],
      ['shrinking amount', pay(5, 250, [{ sats: -25 }, { sats: -25 }]), 'malformed'],
      ['signature over another amount', { ...pay(5, 500, [{ sats: 100 }, { sats: 100 }]), sig: signed(600) } as OutgoingRequest, 'bad_signature'],
    ]
    for (const [name, frame, code] of cases) {
      expect(`${name}: ${await send(frame)}`).toBe(`${name}: ${code}`)
      expect(snapshot()).toEqual(before)
    }

    // A well-formed coalesced frame is taken whole: a row per listed payment, one signature.
    const good = pay(5, 500, [{ sats: 150, memo: 'a' }, { sats: 50 }])
    expect(await send(good)).toBe('accepted')
    expect(rows(payee.dir, channelId).slice(3)).toEqual([
      { seq: 4, sats: 150, paidSats: 450, memo: 'a', signed: 0 },
      { seq: 5, sats: 50, paidSats: 500, memo: null, signed: 1 },
    ])
    // Sent again (a lost ack): the same answer, nothing new; a covered payment alone is no state.
    expect(await send(good)).toBe('accepted')
    expect(await send({ t: 'pay', channelId, seq: 4, paidSats: 450, sig: signed(450) })).toBe('conflict')
    expect(rows(payee.dir, channelId)).toHaveLength(5)
  }, 60_000)

  it('a halt in the middle of coalesced payments rejects exactly the calls no acknowledged settlement covers', async () => {
    const { payer, payee } = pair
    const channelId = (await payer.engine.open({ peerId: payee.peerId, capacitySats: 400_000 })).id
    const outcomes: { ok: boolean; seq?: number; paidSats?: number; code?: string }[] = []
    const calls: Promise<void>[] = []
    const fire = (n: number): void => {
      for (let i = 0; i < n; i++) {
        calls.push(
          payer.engine.pay({ channelId, sats: 3 }).then(
            (r) => void outcomes.push({ ok: true, seq: r.seq, paidSats: r.paidSats }),
            (err: { code?: string }) => void outcomes.push({ ok: false, code: err.code ?? 'error' }),
          ),
        )
      }
    }
    fire(200)
    await waitUntil(() => payee.engine.get(channelId).seq > 0, 10_000, 'some payments stored')
    // The payee settles while payments are queued and in flight: it refuses the rest, the payer's pipeline halts.
    const settled = payee.engine.close(channelId)
    fire(200)
    await settled
    await Promise.all(calls)

    const acked = outcomes.filter((o) => o.ok)
    const refused = outcomes.filter((o) => !o.ok)
    expect(acked.length + refused.length).toBe(400)
    expect(refused.length).toBeGreaterThan(0)
    // The acknowledged calls are payments 1..k, without a gap; every other call was refused.
    const k = acked.length
    expect(acked.map((o) => o.seq).sort((a, b) => a! - b!)).toEqual(Array.from({ length: k }, (_, i) => i + 1))
    const payeeRows = new Map(rows(payee.dir, channelId).map((r) => [r.seq, r.paidSats]))
    for (const o of acked) expect(payeeRows.get(o.seq!)).toBe(o.paidSats)
    // Nothing was acknowledged that the payee does not hold.
    expect(payee.engine.get(channelId).seq).toBeGreaterThanOrEqual(k)
    for (const o of refused) expect(['invalid_state', 'rejected', 'unavailable']).toContain(o.code)
  }, 60_000)
})
