import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChainTip } from './chain-tip.js'

describe('ChainTip', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('shares one look-up within its age, and looks again after it', async () => {
    let height = 100
    let lookups = 0
    const tip = new ChainTip({ height: async () => (lookups++, height) }, 50)
    expect(await Promise.all([tip.height(), tip.height()])).toEqual([100, 100])
    height = 101
    expect(await tip.height()).toBe(100)
    await new Promise((r) => setTimeout(r, 80))
    expect(await tip.height()).toBe(101)
    expect(lookups).toBe(2)
  })

  it('does not keep an old height while the wall clock is set back', async () => {
    let height = 100
    const tip = new ChainTip({ height: async () => height }, 50)
    expect(await tip.height()).toBe(100)
    // Only Date moves: an hour back. Real time still passes beyond the age.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() - 3_600_000)
    height = 105
    await new Promise((r) => setTimeout(r, 80))
    expect(await tip.height()).toBe(105)
  })
})
