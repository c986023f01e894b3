/**
 * A seeded PRNG (mulberry32) for the chaos scenarios: every run prints its seed, and
 * CHAOS_SEED=<seed> replays the same kill points and the same generated inputs.
 */
export interface Prng {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** An integer in [min, max]. */
  between(min: number, max: number): number
  chance(p: number): boolean
  pick<T>(xs: readonly T[]): T
  bytes(n: number): Uint8Array
  /** A string of `n` characters drawn from `alphabet`. */
  text(n: number, alphabet?: string): string
}

export function prng(seed: number): Prng {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    seed: seed >>> 0,
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    chance: (p) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
    bytes: (n) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = int(256)
      return out
    },
    text: (n, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789') => {
      let out = ''
      for (let i = 0; i < n; i++) out += alphabet[int(alphabet.length)]
      return out
    },
  }
}

/** The seed of this run: CHAOS_SEED when set (to replay a failure), otherwise a fresh one. */
export function chaosSeed(): number {
  const fromEnv = process.env.CHAOS_SEED
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv) >>> 0
  return Math.floor(Math.random() * 2 ** 32) >>> 0
}
