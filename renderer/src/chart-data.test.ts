import { describe, expect, it } from 'vitest'
import type { ChannelPayment, WalletTransaction } from '../../shared/contract/index.js'
import { balanceSeries, describeSeries, inTimeOrder, paymentsSeries, spanWords } from './chart-data.js'
import { formatSats } from './human.js'

const DAY = 86_400
const at = (s: number): string => new Date(s * 1000).toISOString()
const tx = (seq: number, direction: 'in' | 'out', sats: number, fee: number, s: number): WalletTransaction => ({
  seq, txid: String(seq).padStart(64, '0'), direction, sats, fee, address: null, height: null, createdAt: at(s),
})
const pay = (seq: number, sats: number, paidSats: number, s: number): ChannelPayment => ({ seq, sats, paidSats, memo: null, status: 'acked', createdAt: at(s) })

describe('chart data', () => {
  it('walks the balance back from now through the history, ending at the balance now', () => {
    const T = 1_700_000_000
    // Newest first: received 20 000, sent 5 000 (fee 200), received 3 000 (balance now 17 800).
    const history = [tx(3, 'in', 3_000, 0, T + 3 * DAY), tx(2, 'out', 5_000, 200, T + DAY), tx(1, 'in', 20_000, 0, T)]
    const points = balanceSeries(history, 17_800)
    expect(points).toEqual([
      { t: T - 1, sats: 0 },
      { t: T, sats: 20_000 },
      { t: T + DAY, sats: 14_800 },
      { t: T + 3 * DAY, sats: 17_800 },
    ])
    expect(points.every((p) => Number.isInteger(p.t) && Number.isInteger(p.sats))).toBe(true)
    expect(balanceSeries([], 5)).toEqual([])
    // Only the latest page: still ends at the balance now.
    expect(balanceSeries(history.slice(0, 1), 17_800)).toEqual([
      { t: T + 3 * DAY - 1, sats: 14_800 },
      { t: T + 3 * DAY, sats: 17_800 },
    ])
  })

  it('keeps the last value of a second and sorts by time', () => {
    expect(inTimeOrder([{ t: 5, sats: 2 }, { t: 3, sats: 1 }, { t: 5, sats: 9 }])).toEqual([{ t: 3, sats: 1 }, { t: 5, sats: 9 }])
  })

  it('adds up a channel\'s payments over time from 0 at its opening', () => {
    const T = 1_700_000_000
    const payments = [pay(3, 5, 35, T + 120), pay(2, 20, 30, T + 60), pay(1, 10, 10, T + 60)]
    expect(paymentsSeries(payments, at(T))).toEqual([
      { t: T, sats: 0 },
      { t: T + 60, sats: 30 },
      { t: T + 120, sats: 35 },
    ])
    expect(paymentsSeries([], at(T))).toEqual([])
  })

  it('says what the chart shows in one sentence', () => {
    expect(describeSeries('Balance', [{ t: 0, sats: 0 }, { t: 3 * DAY, sats: 12_000 }])).toBe(`Balance from ${formatSats(0)} to ${formatSats(12_000)} over 3 days`)
    expect(describeSeries('Balance', [{ t: 0, sats: 100 }, { t: 60, sats: 900 }, { t: 7_200, sats: 50 }])).toBe(`Balance from ${formatSats(100)} to ${formatSats(50)} over 2 hours (between ${formatSats(50)} and ${formatSats(900)})`)
    expect(describeSeries('Paid', [])).toBe('Paid: nothing to show yet')
    expect(describeSeries('Paid', [{ t: 1, sats: 7 }])).toBe(`Paid: ${formatSats(7)}`)
    expect(spanWords(59)).toBe('59 seconds')
    expect(spanWords(3_600)).toBe('1 hour')
  })
})
