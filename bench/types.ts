/** One figure of a benchmark report. */
export interface BenchResult {
  /** Which benchmark file made it (filled in by bench/run.ts when missing). */
  suite?: string
  name: string
  unit: string
  value: number
  p50?: number
  p95?: number
  p99?: number
  max?: number
  samples?: number
  /** The same-run baseline this figure is compared with, in the same unit. */
  baseline?: number
  baselineName?: string
  ratio?: number
  /** The seed audit's or the target, as text ("< 10 s", ">= 1,000/s"). */
  target?: string
  note?: string
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx]!
}

export function summarise(values: readonly number[]): { p50: number; p95: number; p99: number; max: number; mean: number; samples: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN, mean, samples: sorted.length }
}

export const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits
