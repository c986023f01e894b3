// What a bench result needs beside its figures so that two runs can be compared honestly:
// which code (commit, dirty tree), which machine (cores, CPU model), how busy it was (load
// average at start and end), which runtime, and how fast this CPU did fixed work in the
// same run (so a slower figure on a slower or busier machine is seen as such).
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { createOpenSslBackend, publicKeyOf } from '../main/channels/signer.js'
import { round, summarise } from './types.js'

export interface GitState {
  /** HEAD's full hash; null where git or the repository is absent. */
  commit: string | null
  /** Uncommitted changes to tracked or untracked files; null when unknown. */
  dirty: boolean | null
}

/** Fixed CPU work timed in the run itself (median of several rounds). */
export interface CpuBaselines {
  /** SHA-256 over 1 MiB buffers. */
  sha256MiBPerSecond: number
  /** One secp256k1 signature through node:crypto (the payment path's signer), µs. */
  ecdsaSignMicros: number
  /** One secp256k1 verification through node:crypto, µs. */
  ecdsaVerifyMicros: number
}

interface RunMachine {
  cores: number
  cpuModel: string
  node: string
  platform: string
}

export interface RunMetadata {
  git: GitState
  machine: RunMachine
  /** 1, 5 and 15 minute load averages. */
  loadAverageStart: number[]
  loadAverageEnd: number[] | null
  baselinesStart: CpuBaselines
  baselinesEnd: CpuBaselines | null
}

export interface GitOptions {
  cwd: string
  /** The git executable; a test points it at nothing to prove the run still records. */
  git?: string
}

function gitOutput(opts: GitOptions, args: string[]): string | null {
  try {
    return execFileSync(opts.git ?? 'git', args, { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
  } catch {
    // No git, no repository, or a tree git refuses: the run is still worth recording.
    return null
  }
}

export function gitState(opts: GitOptions): GitState {
  const head = gitOutput(opts, ['rev-parse', '--verify', 'HEAD'])?.trim() ?? ''
  if (!/^[0-9a-f]{40,64}$/.test(head)) return { commit: null, dirty: null }
  const status = gitOutput(opts, ['status', '--porcelain'])
  return { commit: head, dirty: status === null ? null : status.trim().length > 0 }
}

function machine(): RunMachine {
  const list = cpus()
  return { cores: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` }
}

const roundLoad = (values: number[]): number[] => values.map((v) => round(v, 2))

/** About 0.3 s of CPU: small beside any suite, steady enough to tell machines apart. */
export function cpuBaselines(): CpuBaselines {
  const buffer = randomBytes(1 << 20)
  const hashRounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    for (let i = 0; i < 8; i++) createHash('sha256').update(buffer).digest()
    hashRounds.push(8 / ((performance.now() - t0) / 1000))
  }
  const backend = createOpenSslBackend()
  const priv = Uint8Array.from(randomBytes(32))
  priv[0] = 1 // below the curve order, whatever the random bytes
  const pub = publicKeyOf(priv)
  const hashes = Array.from({ length: 16 }, () => Uint8Array.from(createHash('sha256').update(randomBytes(64)).digest()))
  const sigs = hashes.map((h) => backend.sign(h, priv))
  const each = (n: number, fn: (i: number) => void): number => {
    for (let i = 0; i < 20; i++) fn(i) // warm-up, discarded
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      fn(i)
      times.push((performance.now() - t0) * 1000)
    }
    return round(summarise(times).p50, 1)
  }
  const signMicros = each(200, (i) => backend.sign(hashes[i % hashes.length]!, priv))
  const verifyMicros = each(200, (i) => {
    if (!backend.verify(hashes[i % hashes.length]!, sigs[i % sigs.length]!, pub)) throw new Error('baseline signature did not verify')
  })
  return { sha256MiBPerSecond: Math.round(summarise(hashRounds).p50), ecdsaSignMicros: signMicros, ecdsaVerifyMicros: verifyMicros }
}

/** What is known when the run starts; `finishRunMetadata` adds the end. */
export function startRunMetadata(opts: GitOptions): RunMetadata {
  return { git: gitState(opts), machine: machine(), loadAverageStart: roundLoad(loadavg()), loadAverageEnd: null, baselinesStart: cpuBaselines(), baselinesEnd: null }
}

export function finishRunMetadata(meta: RunMetadata): RunMetadata {
  return { ...meta, loadAverageEnd: roundLoad(loadavg()), baselinesEnd: cpuBaselines() }
}

const fmtBaselines = (b: CpuBaselines): string => `sha256 ${b.sha256MiBPerSecond} MiB/s, ecdsa sign ${b.ecdsaSignMicros} µs, verify ${b.ecdsaVerifyMicros} µs`

/** The lines printed above the results table. */
export function describeRun(meta: RunMetadata): string[] {
  const commit = meta.git.commit === null ? 'unknown (no git)' : `${meta.git.commit.slice(0, 12)}${meta.git.dirty ? ' (dirty tree)' : meta.git.dirty === null ? ' (tree state unknown)' : ''}`
  const load = (l: number[] | null): string => (l === null ? '?' : l.join(' '))
  return [
    `commit ${commit}; node ${meta.machine.node} on ${meta.machine.platform}`,
    `${meta.machine.cores} cores: ${meta.machine.cpuModel}; load average ${load(meta.loadAverageStart)} at start, ${load(meta.loadAverageEnd)} at end`,
    `CPU baselines at start: ${fmtBaselines(meta.baselinesStart)}`,
    ...(meta.baselinesEnd ? [`CPU baselines at end:   ${fmtBaselines(meta.baselinesEnd)}`] : []),
  ]
}
