// Pure figures of `npm run soak -- --day`: a busy wallet's day of operations, paced to end
// together, and growth per 100,000 operations projected to 24 hours and 30 days.
import { HOUR_MS, type Point, slope } from './stats.js'

/** What `--day` puts through the cluster: a busy wallet's day (issue #19). */
export interface DayTargets {
  payments: number
  /** Channel open → payments → cooperative close → closed on both sides. */
  channelCycles: number
  messages: number
  relayFlaps: number
  peerRestarts: number
}

export const BUSY_DAY: DayTargets = { payments: 100_000, channelCycles: 200, messages: 20_000, relayFlaps: 1000, peerRestarts: 500 }
/** The targets are paced to be reached together after this long (at --scale 1). */
export const DAY_PACE_MS = 90 * 60_000
/** Past this the run stops and reports the targets it missed (at --scale 1). */
export const DAY_CAP_MS = 120 * 60_000
/** The operations of a `--day` run are counted in hundred-thousands. */
export const OPS_UNIT = 100_000
/** The memory goal: 30 days at the run's operation rate stay under this (heap after GC, RSS). */
export const MEMORY_LIMIT_BYTES = 200e6
const DAY_MS = 24 * HOUR_MS

/** Every target scaled (at least 1 of each); payments per cycle stay what they were. */
export function scaleTargets(t: DayTargets, scale: number): DayTargets {
  const s = (v: number): number => Math.max(1, Math.round(v * scale))
  return { payments: s(t.payments), channelCycles: s(t.channelCycles), messages: s(t.messages), relayFlaps: s(t.relayFlaps), peerRestarts: s(t.peerRestarts) }
}

/** When (ms since the start) operation number `index` (from 0) is due, `target` of them spread evenly over `durationMs`. */
export function dueAtMs(index: number, target: number, durationMs: number): number {
  return Math.round(((index + 1) / target) * durationMs)
}

/**
 * Operations: payments + messages delivered + channel cycles completed + relay flaps + peer
 * restarts; each one counted once, whatever it costs.
 */
export function operations(done: DayTargets): number {
  return done.payments + done.messages + done.channelCycles + done.relayFlaps + done.peerRestarts
}

export interface Missed {
  kind: keyof DayTargets
  done: number
  target: number
}

export function missedTargets(done: DayTargets, targets: DayTargets): Missed[] {
  return (Object.keys(targets) as (keyof DayTargets)[]).filter((k) => done[k] < targets[k]).map((kind) => ({ kind, done: done[kind], target: targets[kind] }))
}

/** A sample of one series against the operations done when it was taken. */
export interface OpsPoint {
  t: number
  ops: number
  v: number
}

export interface OpsGrowth {
  /** Least-squares growth per OPS_UNIT operations after the warm-up; null when it cannot be computed. */
  perUnit: number | null
  /** perUnit over the operations of a day / 30 days at `opsPerHour`. */
  projected24h: number | null
  projected30d: number | null
  /** The fitted rise over the operations done after the warm-up. */
  riseOverRun: number | null
  last: number
  samples: number
}

/** Growth of `v` per OPS_UNIT operations (after `warmup` ms), projected at `opsPerHour`. */
export function growthPerOps(points: readonly OpsPoint[], warmup: number, opsPerHour: number | null): OpsGrowth | null {
  if (points.length === 0) return null
  const after = points.filter((p) => p.t >= warmup)
  const perOp = slope(after.map((p) => ({ t: p.ops, v: p.v })))
  const perUnit = perOp === null ? null : perOp * OPS_UNIT
  const project = (ms: number): number | null => (perOp === null || opsPerHour === null ? null : perOp * opsPerHour * (ms / HOUR_MS))
  const span = after.length ? after[after.length - 1]!.ops - after[0]!.ops : 0
  return {
    perUnit,
    projected24h: project(DAY_MS),
    projected30d: project(30 * DAY_MS),
    riseOverRun: perOp === null ? null : perOp * span,
    last: points[points.length - 1]!.v,
    samples: after.length,
  }
}

/** Operations per hour after the warm-up (least squares of operations over time). */
export function opsPerHour(points: readonly Point[], warmup: number): number | null {
  const s = slope(points.filter((p) => p.t >= warmup))
  return s === null ? null : s * HOUR_MS
}

/** Memory stays under the limit for 30 days at the run's own rate (many busy days a day: the stricter reading). */
export function within30Days(g: OpsGrowth | null, limit = MEMORY_LIMIT_BYTES): boolean | null {
  if (!g || g.projected30d === null) return null
  return g.last + Math.max(0, g.projected30d) < limit
}

/**
 * The reading of the memory goal: 30 days of the busy wallet the day models (30 ×
 * its operations a day) stay under the limit, the last sample plus the growth they bring.
 */
export function within30BusyDays(g: OpsGrowth | null, limit = MEMORY_LIMIT_BYTES): boolean | null {
  if (!g || g.perUnit === null) return null
  return g.last + Math.max(0, g.perUnit) * ((30 * operations(BUSY_DAY)) / OPS_UNIT) < limit
}

/** Flat: the fitted line gains less than one (handle, descriptor, listener) over the whole run after the warm-up. */
export function isFlat(g: OpsGrowth | null): boolean | null {
  if (!g || g.riseOverRun === null) return null
  return g.riseOverRun < 1
}
