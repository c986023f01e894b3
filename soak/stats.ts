// Pure figures of the soak: least-squares growth per hour after a warm-up, first/last/max.

export const HOUR_MS = 3_600_000

export interface Point {
  /** ms since the soak began */
  t: number
  v: number
}

/** Least-squares slope of v over t (units per ms); null with fewer than 2 distinct times. */
export function slope(points: readonly Point[]): number | null {
  const n = points.length
  if (n < 2) return null
  let st = 0
  let sv = 0
  for (const p of points) {
    st += p.t
    sv += p.v
  }
  const mt = st / n
  const mv = sv / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv)
    den += (p.t - mt) ** 2
  }
  return den === 0 ? null : num / den
}

/**
 * The warm-up to discard: 3 minutes, or 10 % of the run when the run is too short for 3
 * minutes to leave most of it (under 10 minutes).
 */
export function warmupMs(runMs: number): number {
  return runMs >= 10 * 60_000 ? 3 * 60_000 : Math.round(runMs * 0.1)
}

export interface SeriesSummary {
  first: number
  last: number
  max: number
  /** Least-squares growth per hour over the samples after the warm-up; null when it cannot be computed. */
  perHour: number | null
  /**
   * Growth per hour of the floor: the least-squares slope through the lowest sample of each
   * `windowMs` after the warm-up. Heap used saw-tooths between collections; its floor is
   * what survives them, so a leak shows here even when the sampling phase is unlucky.
   */
  floorPerHour: number | null
  /**
   * Growth per hour over the second half of the run only: a warm-up that lasts longer than
   * the discarded one (caches filling, V8 compiling) shows as perHour above latePerHour.
   */
  latePerHour: number | null
  /** Samples the growth was computed over. */
  samples: number
}

/** The lowest point of each window of `windowMs` (counted from `from`). */
export function windowMinima(points: readonly Point[], from: number, windowMs: number): Point[] {
  const byWindow = new Map<number, Point>()
  for (const p of points) {
    if (p.t < from) continue
    const w = Math.floor((p.t - from) / windowMs)
    const cur = byWindow.get(w)
    if (!cur || p.v < cur.v) byWindow.set(w, p)
  }
  return [...byWindow.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p)
}

export function summarize(points: readonly Point[], warmup: number, floorWindowMs = 60_000): SeriesSummary | null {
  if (points.length === 0) return null
  const after = points.filter((p) => p.t >= warmup)
  const s = slope(after)
  const f = slope(windowMinima(points, warmup, floorWindowMs))
  const half = Math.max(warmup, (points[0]!.t + points[points.length - 1]!.t) / 2)
  const late = slope(points.filter((p) => p.t >= half))
  return {
    first: points[0]!.v,
    last: points[points.length - 1]!.v,
    max: Math.max(...points.map((p) => p.v)),
    perHour: s === null ? null : s * HOUR_MS,
    floorPerHour: f === null ? null : f * HOUR_MS,
    latePerHour: late === null ? null : late * HOUR_MS,
    samples: after.length,
  }
}

/** The values of one metric from Prometheus text, summed over label sets. */
export function metricSum(text: string, name: string): number | null {
  let found = false
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue
    const v = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isNaN(v)) continue
    found = true
    sum += v
  }
  return found ? sum : null
}

/** One metric's value per label value of `label`. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {}
  const re = new RegExp(`${label}="([^"]*)"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const m = re.exec(line)
    if (!m) continue
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return out
}
