// A caller that fires payments without waiting for them (a flooding page, a runaway script)
// meets a bound: each waiting payment holds its promise, timer and record until the payee
// acknowledges it, and a channel's capacity counts sats, not payments.
import { beforeAll, describe, expect, it } from 'vitest'
import { type Side, usePair, waitUntil } from './test/harness.js'

describe('payments waiting for their acknowledgement are bounded', () => {
  let payer: Side
  let payee: Side
  const pair = usePair(2_000_000, { maxWaitingPayments: 5, maxWaitingPaymentsTotal: 8 })
  beforeAll(() => {
    ;({ payer, payee } = pair)
  })

  it('past the bound on one channel, and in all, a payment is refused rate_limited with a retry hint; the others land and the bound frees up', async () => {
    const a = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })
    const b = await payer.engine.open({ peerId: payee.peerId, capacitySats: 100_000 })
    await waitUntil(() => payee.engine.list().filter((c) => c.state === 'open').length === 2, 5000, 'payee open')

    const settle = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err))
    // Six at once on a: five wait, the sixth is refused at once.
    const onA = Array.from({ length: 6 }, () => settle(payer.engine.pay({ channelId: a.id, sats: 1 })))
    // Four at once on b: three fit under the total of eight, the fourth does not.
    const onB = Array.from({ length: 4 }, () => settle(payer.engine.pay({ channelId: b.id, sats: 1 })))
    const refusal = await payer.engine.pay({ channelId: a.id, sats: 1 }).catch((err: unknown) => err)
    expect(await Promise.all(onA)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limited'])
    expect(await Promise.all(onB)).toEqual(['ok', 'ok', 'ok', 'rate_limited'])
    expect(refusal).toMatchObject({ code: 'rate_limited', details: { retryAfterMs: 1000 } })

    // Nothing refused was signed: the payee holds exactly what was acknowledged.
    await waitUntil(() => payee.engine.list().find((c) => c.id === a.id)?.paidSats === 5, 5000, 'payee has a at 5')
    expect(payer.engine.list().find((c) => c.id === a.id)?.paidSats).toBe(5)
    expect(payee.engine.list().find((c) => c.id === b.id)?.paidSats).toBe(3)

    // Answered callers free their places: the next ones go through.
    expect(await Promise.all(Array.from({ length: 5 }, () => settle(payer.engine.pay({ channelId: a.id, sats: 1 }))))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    expect(payer.engine.list().find((c) => c.id === a.id)?.paidSats).toBe(10)
  })
})
