import { describe, expect, it } from 'vitest'
import { type Coin, MAX_INPUTS, P2PKH_INPUT_BYTES, estimateSize, feeFor, maxSendable, selectCoins } from './coin-selection.js'

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

describe('maxSendable', () => {
  it('pays everything less the fee of one transaction without change', () => {
    const m = maxSendable([coin(10_000, 1, 1), coin(5_000, null, 2)], 100)
    const fee = feeFor(estimateSize(2, 1), 100)
    expect(m).toEqual({ ok: true, sats: 15_000 - fee, fee, coins: [coin(10_000, 1, 1), coin(5_000, null, 2)] })
  })

  it('leaves out coins worth less than the fee their input costs', () => {
    const dust = coin(feeFor(P2PKH_INPUT_BYTES, 1000) - 1, 1, 2)
    const m = maxSendable([coin(10_000, 1, 1), dust], 1000)
    expect(m).toMatchObject({ ok: true, sats: 10_000 - feeFor(estimateSize(1, 1), 1000), coins: [coin(10_000, 1, 1)] })
  })

  it('refuses when nothing is left after the fee', () => {
    const fee1 = feeFor(estimateSize(1, 1), 100)
    expect(maxSendable([], 100)).toEqual({ ok: false, available: 0, needed: 1 + fee1 })
    expect(maxSendable([coin(fee1, 1, 1)], 100)).toEqual({ ok: false, available: fee1, needed: 1 + fee1 })
    expect(maxSendable([coin(fee1 + 1, 1, 1)], 100)).toMatchObject({ ok: true, sats: 1, fee: fee1 })
  })

  it('is exactly what selectCoins can pay: the same coins, no change, the same fee; one more satoshi fails', () => {
    // A fixed pseudo-random sequence: many shapes of wallets, the same every run.
    let seed = 17
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 300; round++) {
      const count = 1 + next(round % 10 === 0 ? MAX_INPUTS + 20 : 12)
      const coins = Array.from({ length: count }, (_, i) => coin(1 + next(next(4) === 0 ? 60 : 50_000), next(3) === 0 ? null : 1 + next(100), i))
      const rate = [0, 1, 50, 100, 500, 1000][next(6)]!
      const m = maxSendable(coins, rate)
      if (!m.ok) {
        expect(selectCoins(coins, 1, rate).ok, `round ${round}`).toBe(false)
        continue
      }
      const s = selectCoins(coins, m.sats, rate)
      expect(s, `round ${round}`).toMatchObject({ ok: true, fee: m.fee, change: 0 })
      expect(s.ok && s.coins, `round ${round}`).toEqual(m.coins)
      expect(m.fee, `round ${round}`).toBe(feeFor(estimateSize(m.coins.length, 1), rate))
      expect(selectCoins(coins, m.sats + 1, rate).ok, `round ${round}`).toBe(false)
    }
  })
})
