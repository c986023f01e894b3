import { describe, expect, it } from 'vitest'
import { TokenBucket, TokenBucketConfigError } from './token-bucket.js'

function clock(start = 1000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) }
}

describe('TokenBucket', () => {
  it('starts full and allows exactly the burst at once', () => {
    const c = clock()
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5 }, c.now)
    let taken = 0
    for (let i = 0; i < 20; i++) if (bucket.tryTake()) taken++
    expect(taken).toBe(5)
  })

  it('refills at the rate and never above the burst', () => {
    const c = clock()
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5 }, c.now)
    while (bucket.tryTake());
    c.advance(100) // one token
    expect(bucket.tryTake()).toBe(true)
    expect(bucket.tryTake()).toBe(false)
    c.advance(60_000)
    expect(bucket.available).toBe(5)
  })

  it('admits rate × time + burst over a long flood', () => {
    const c = clock()
    const bucket = new TokenBucket({ ratePerSec: 200, burst: 400 }, c.now)
    let taken = 0
    for (let ms = 0; ms < 10_000; ms++) {
      for (let k = 0; k < 10; k++) if (bucket.tryTake()) taken++
      c.advance(1)
    }
    expect(taken).toBeGreaterThanOrEqual(400 + 200 * 10 - 2)
    expect(taken).toBeLessThanOrEqual(400 + 200 * 10)
  })

  it('says how long until tokens are back', () => {
    const c = clock()
    const bucket = new TokenBucket({ ratePerSec: 4, burst: 1 }, c.now)
    expect(bucket.retryAfterMs()).toBe(0)
    expect(bucket.tryTake()).toBe(true)
    expect(bucket.retryAfterMs()).toBe(250)
    c.advance(100)
    expect(bucket.retryAfterMs()).toBe(150)
  })

  it('ignores a clock that goes backwards', () => {
    const c = clock(10_000)
    const bucket = new TokenBucket({ ratePerSec: 1, burst: 2 }, c.now)
    bucket.tryTake()
    bucket.tryTake()
    c.set(0)
    expect(bucket.tryTake()).toBe(false)
    c.set(10_500)
    expect(bucket.tryTake()).toBe(false)
    c.set(11_000)
    expect(bucket.tryTake()).toBe(true)
  })

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucket({ ratePerSec: 0, burst: 1 })).toThrow(TokenBucketConfigError)
    expect(() => new TokenBucket({ ratePerSec: 1, burst: 0 })).toThrow(TokenBucketConfigError)
    expect(() => new TokenBucket({ ratePerSec: Number.NaN, burst: 1 })).toThrow(TokenBucketConfigError)
  })
})
