import { describe, expect, it } from 'vitest'
import { BUSY_DAY, DAY_PACE_MS, OPS_UNIT, dueAtMs, growthPerOps, isFlat, missedTargets, operations, opsPerHour, scaleTargets, within30BusyDays, within30Days } from './day.js'
import { HOUR_MS } from './stats.js'

describe('a day of load, compressed', () => {
  it('paces every kind to end together: a flap every 5.4 s, a restart every 10.8 s, the last at 90 min', () => {
    expect(dueAtMs(0, BUSY_DAY.relayFlaps, DAY_PACE_MS)).toBe(5400)
    expect(dueAtMs(1, BUSY_DAY.relayFlaps, DAY_PACE_MS)).toBe(10_800)
    expect(dueAtMs(0, BUSY_DAY.peerRestarts, DAY_PACE_MS)).toBe(10_800)
    expect(dueAtMs(BUSY_DAY.payments - 1, BUSY_DAY.payments, DAY_PACE_MS)).toBe(DAY_PACE_MS)
    // Past the target the pace goes on at the same rate.
    expect(dueAtMs(BUSY_DAY.messages, BUSY_DAY.messages, DAY_PACE_MS)).toBeCloseTo(DAY_PACE_MS + DAY_PACE_MS / BUSY_DAY.messages, 0)
  })

  it('scales targets, keeping 500 payments a cycle and at least one of each', () => {
    expect(scaleTargets(BUSY_DAY, 0.05)).toEqual({ payments: 5000, channelCycles: 10, messages: 1000, relayFlaps: 50, peerRestarts: 25 })
    expect(scaleTargets(BUSY_DAY, 0.0001)).toEqual({ payments: 10, channelCycles: 1, messages: 2, relayFlaps: 1, peerRestarts: 1 })
    expect(scaleTargets(BUSY_DAY, 1)).toEqual(BUSY_DAY)
  })

  it('counts operations once each and names the targets missed', () => {
    expect(operations(BUSY_DAY)).toBe(121_700)
    const done = { ...BUSY_DAY, payments: 99_999, relayFlaps: 1200 }
    expect(missedTargets(done, BUSY_DAY)).toEqual([{ kind: 'payments', done: 99_999, target: 100_000 }])
    expect(missedTargets(BUSY_DAY, BUSY_DAY)).toEqual([])
  })

  it('growth per 100,000 operations, after the warm-up, projected at the run’s rate', () => {
    // 80,000 operations an hour, a sample every 10 s; heap grows 1 MB per 100,000 operations after a warm-up jump.
    const rate = 80_000
    const pts = Array.from({ length: 540 }, (_, i) => {
      const t = i * 10_000
      const ops = (t / HOUR_MS) * rate
      return { t, ops, v: (t < 180_000 ? t * 50 : 9e6) + (ops / OPS_UNIT) * 1e6 + (i % 2 ? 2e5 : -2e5) }
    })
    expect(opsPerHour(pts.map((p) => ({ t: p.t, v: p.ops })), 180_000)).toBeCloseTo(rate, 3)
    const g = growthPerOps(pts, 180_000, rate)!
    expect(g.perUnit! / 1e6).toBeCloseTo(1, 2)
    expect(g.projected24h! / 1e6).toBeCloseTo(24 * 0.8, 1)
    expect(g.projected30d! / 1e6).toBeCloseTo(30 * 24 * 0.8, -1)
    expect(g.samples).toBe(522)
    // 576 MB in 30 days: far over 200 MB.
    expect(within30Days(g)).toBe(false)
    expect(within30Days({ ...g, last: 100e6, projected30d: 99e6 })).toBe(true)
    // Shrinking never fails the goal on its own.
    expect(within30Days({ ...g, last: 100e6, projected30d: -50e6 })).toBe(true)
    expect(growthPerOps([], 0, rate)).toBeNull()
    expect(growthPerOps(pts.slice(0, 1), 0, rate)).toMatchObject({ perUnit: null, projected30d: null })
    expect(within30Days(growthPerOps(pts, 0, null))).toBeNull()
  })

  it('flat: a noisy handle count with no trend is flat; one handle more every 100,000 operations is not', () => {
    const pts = Array.from({ length: 300 }, (_, i) => ({ t: i * 10_000, ops: i * 400, v: 18 + (i % 3) - 1 }))
    expect(isFlat(growthPerOps(pts, 0, 1))).toBe(true)
    const leak = pts.map((p) => ({ ...p, v: p.v + p.ops / OPS_UNIT }))
    expect(growthPerOps(leak, 0, 1)!.riseOverRun).toBeCloseTo(1.2, 1)
    expect(isFlat(growthPerOps(leak, 0, 1))).toBe(false)
    expect(isFlat(null)).toBeNull()
  })

  it('reads the memory goal over 30 busy-wallet days: last sample + growth per 100,000 operations × 36.5', () => {
    const g = { perUnit: 2e6, projected24h: null, projected30d: null, riseOverRun: null, last: 120e6, samples: 10 }
    // 30 × 121,700 operations = 36.51 units: 120 MB + 73 MB < 200 MB.
    expect(within30BusyDays(g)).toBe(true)
    expect(within30BusyDays({ ...g, perUnit: 2.5e6 })).toBe(false)
    expect(within30BusyDays({ ...g, perUnit: -5e6 })).toBe(true)
    expect(within30BusyDays({ ...g, perUnit: null })).toBeNull()
  })
})
