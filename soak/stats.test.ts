import { describe, expect, it } from 'vitest'
import { HOUR_MS, metricByLabel, metricSum, slope, summarize, warmupMs, windowMinima } from './stats.js'

describe('soak figures', () => {
  it('least-squares slope recovers a linear trend through noise', () => {
    const pts = Array.from({ length: 200 }, (_, i) => ({ t: i * 10_000, v: 1000 + i * 10_000 * 0.5 + (i % 2 === 0 ? 300 : -300) }))
    expect(slope(pts)).toBeCloseTo(0.5, 2)
    expect(slope([{ t: 1, v: 1 }])).toBeNull()
    expect(slope([{ t: 1, v: 1 }, { t: 1, v: 5 }])).toBeNull()
  })

  it('growth per hour ignores the warm-up', () => {
    // Climbs fast during the first minute, flat after.
    const pts = Array.from({ length: 60 }, (_, i) => ({ t: i * 10_000, v: i < 6 ? i * 1e6 : 5e6 }))
    const s = summarize(pts, 60_000)!
    expect(s.perHour).toBeCloseTo(0, 6)
    expect(s).toMatchObject({ first: 0, last: 5e6, max: 5e6, samples: 54 })
    const withWarmup = summarize(pts, 0)!
    expect(withWarmup.perHour!).toBeGreaterThan(0)
    expect(summarize([{ t: 0, v: 3 }], 0)).toMatchObject({ perHour: null, samples: 1 })
    expect(summarize([], 0)).toBeNull()
  })

  it('the second half shows a warm-up that outlasts the discarded one: growth that levels off', () => {
    // Rises 10 MB over the first half hour, then flat for another half hour.
    const pts = Array.from({ length: 360 }, (_, i) => ({ t: i * 10_000, v: 30e6 + Math.min(i, 180) * (10e6 / 180) }))
    const s = summarize(pts, 0)!
    expect(s.perHour! / 1e6).toBeGreaterThan(5)
    expect(s.latePerHour).toBeCloseTo(0, 3)
    // A steady leak is the same over both.
    const leak = pts.map((p) => ({ t: p.t, v: 30e6 + (p.t / HOUR_MS) * 5e6 }))
    expect(summarize(leak, 0)!.latePerHour! / 1e6).toBeCloseTo(5, 3)
  })

  it('a steady leak of 5 MB/h is reported as 5e6 per hour', () => {
    const perMs = 5e6 / HOUR_MS
    const pts = Array.from({ length: 180 }, (_, i) => ({ t: i * 10_000, v: 50e6 + i * 10_000 * perMs }))
    expect(summarize(pts, 0)!.perHour).toBeCloseTo(5e6, 0)
  })

  it('the floor follows the lowest sample of each window: a saw-tooth over a flat floor is flat', () => {
    // Collections every 60 s drop heap back to 40 MB; in between it climbs by 2 MB per 10 s.
    const pts = Array.from({ length: 180 }, (_, i) => ({ t: i * 10_000, v: 40e6 + (i % 6) * 2e6 }))
    expect(windowMinima(pts, 0, 60_000)).toHaveLength(30)
    expect(summarize(pts, 0)!.floorPerHour).toBeCloseTo(0, 3)
    // The same saw-tooth on a floor rising 5 MB/h.
    const leaking = pts.map((p) => ({ t: p.t, v: p.v + (p.t / HOUR_MS) * 5e6 }))
    expect(summarize(leaking, 0)!.floorPerHour! / 1e6).toBeCloseTo(5, 1)
  })

  it('warm-up: 3 minutes for runs of 10 minutes or more, 10 % below', () => {
    expect(warmupMs(30 * 60_000)).toBe(180_000)
    expect(warmupMs(3 * 60_000)).toBe(18_000)
  })

  it('reads Prometheus text', () => {
    const text = [
      '# HELP bsv_p2p_event_listeners x',
      '# TYPE bsv_p2p_event_listeners gauge',
      'bsv_p2p_event_listeners{source="bus"} 3',
      'bsv_p2p_event_listeners{source="process"} 7',
      'bsv_p2p_nodejs_heap_size_used_bytes 123456',
      'bsv_p2p_nodejs_heap_size_used_bytes_other 9',
    ].join('\n')
    expect(metricSum(text, 'bsv_p2p_event_listeners')).toBe(10)
    expect(metricSum(text, 'bsv_p2p_nodejs_heap_size_used_bytes')).toBe(123456)
    expect(metricSum(text, 'missing')).toBeNull()
    expect(metricByLabel(text, 'bsv_p2p_event_listeners', 'source')).toEqual({ bus: 3, process: 7 })
  })
})
