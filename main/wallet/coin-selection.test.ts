import { describe, expect, it } from 'vitest'
import { type Coin, MAX_INPUTS, estimateSize, feeFor, selectCoins } from './coin-selection.js'

const coin = (satoshis: number, height: number | null = 1, i = 0): Coin => ({ txid: `${i}`.padStart(64, '0'), vout: 0, satoshis, height })

describe('selectCoins', () => {
  it('pays amount + fee and returns the exact change', () => {
    const s = selectCoins([coin(10_000)], 3_000, 100)
    expect(s.ok).toBe(true)
    if (!s.ok) return
    const fee = feeFor(estimateSize(1, 2), 100)
    expect(s.fee).toBe(fee)
    expect(s.change).toBe(10_000 - 3_000 - fee)
    expect(s.total).toBe(s.change + 3_000 + s.fee)
  })

  it('prefers confirmed coins, then the largest', () => {
    const s = selectCoins([coin(50_000, null, 1), coin(5_000, 3, 2), coin(8_000, 2, 3)], 6_000, 100)
    expect(s.ok && s.coins.map((c) => c.satoshis)).toEqual([8_000])
    const two = selectCoins([coin(50_000, null, 1), coin(5_000, 3, 2), coin(8_000, 2, 3)], 12_000, 100)
    expect(two.ok && two.coins.map((c) => c.satoshis)).toEqual([8_000, 5_000])
  })

  it('leaves change below one satoshi to the miner', () => {
    const fee1 = feeFor(estimateSize(1, 1), 100)
    const s = selectCoins([coin(1_000 + fee1)], 1_000, 100)
    expect(s).toMatchObject({ ok: true, change: 0, fee: fee1 })
  })

  it('reports the shortfall when coins do not suffice', () => {
    const s = selectCoins([coin(500, 1, 1), coin(400, 1, 2)], 1_000, 100)
    expect(s).toMatchObject({ ok: false, available: 900 })
    expect(!s.ok && s.needed).toBeGreaterThan(1_000)
    expect(selectCoins([], 1, 0)).toMatchObject({ ok: false, available: 0 })
  })

  it('never uses more than MAX_INPUTS inputs', () => {
    const many = Array.from({ length: MAX_INPUTS + 50 }, (_, i) => coin(10, 1, i))
    const s = selectCoins(many, 10 * (MAX_INPUTS + 10), 0)
    expect(s.ok).toBe(false)
  })

  it('refuses non-integer amounts', () => {
    expect(() => selectCoins([coin(10)], 1.5, 1)).toThrow(RangeError)
    expect(() => selectCoins([coin(10)], 0, 1)).toThrow(RangeError)
  })
})
