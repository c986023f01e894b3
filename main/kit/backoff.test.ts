import { describe, expect, it } from 'vitest'
import { CLOSED_BREAKER, nextDelay, recordFailure, recordSuccess } from './backoff.js'

const policy = { baseDelayMs: 250, maxDelayMs: 2000 }

describe('nextDelay', () => {
  it('grows exponentially up to the cap, scaled by the random draw', () => {
    const top = () => 0.999999
    expect(nextDelay(0, policy, top)).toBe(249)
    expect(nextDelay(1, policy, top)).toBe(499)
    expect(nextDelay(2, policy, top)).toBe(999)
    expect(nextDelay(3, policy, top)).toBe(1999)
    expect(nextDelay(4, policy, top)).toBe(1999)
    expect(nextDelay(1000, policy, top)).toBe(1999)
  })

  it('uses full jitter: anything from 0 to the bound', () => {
    expect(nextDelay(5, policy, () => 0)).toBe(0)
    expect(nextDelay(5, policy, () => 0.5)).toBe(1000)
    // A broken random source cannot push the delay outside [0, cap].
    expect(nextDelay(5, policy, () => 7)).toBe(2000)
    expect(nextDelay(5, policy, () => -1)).toBe(0)
  })

  it('keeps the mean delay at the cap near cap / 2 (about one attempt per second)', () => {
    let sum = 0
    const n = 20_000
    for (let i = 0; i < n; i++) sum += nextDelay(10, policy)
    const mean = sum / n
    expect(mean).toBeGreaterThan(900)
    expect(mean).toBeLessThan(1100)
  })

  it('treats negative and fractional attempts sanely', () => {
    expect(nextDelay(-3, policy, () => 0.5)).toBe(125)
    expect(nextDelay(1.7, policy, () => 0.5)).toBe(250)
  })
})

describe('circuit breaker', () => {
  it('opens once at the threshold and stays open without re-announcing', () => {
    let state = CLOSED_BREAKER
    const opened: boolean[] = []
    for (let i = 0; i < 8; i++) {
      const t = recordFailure(state, 5)
      state = t.state
      opened.push(t.opened)
    }
    expect(opened).toEqual([false, false, false, false, true, false, false, false])
    expect(state).toEqual({ consecutiveFailures: 8, open: true })
  })

  it('closes on success and reports recovery only when it was open', () => {
    const open = { consecutiveFailures: 5, open: true }
    expect(recordSuccess(open)).toEqual({ state: CLOSED_BREAKER, opened: false, closed: true })
    expect(recordSuccess({ consecutiveFailures: 2, open: false }).closed).toBe(false)
  })

  it('a threshold of 1 opens on the first failure', () => {
    expect(recordFailure(CLOSED_BREAKER, 1).opened).toBe(true)
  })
})
