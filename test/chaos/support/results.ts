// A chaos figure cited in docs/performance.md must be a file, not prose: every scenario's
// summary is printed (one JSON line, as before) and kept as JSON with the profile, the time
// and the commit it ran on. Full-profile runs are the evidence and go to
// test/chaos/results/; the short runs inside `npm test` go to the gitignored .tmp/ so they
// never pile up in the repository. CHAOS_RESULTS_DIR sends either somewhere else.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gitState } from '../../../bench/run-metadata.js'
import { ROOT } from '../../helpers/processes.js'
import { CHAOS_PROFILE, type ChaosProfileName } from '../profile.js'

export interface ChaosSummary {
  scenario: string
  /** Set where one scenario reports once per target (malformed input). */
  target?: string
  [figure: string]: unknown
}

export interface RecordOptions {
  profile?: ChaosProfileName
  dir?: string
  print?: (line: string) => void
  now?: Date
}

export function resultsDir(profile: ChaosProfileName, env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHAOS_RESULTS_DIR) return env.CHAOS_RESULTS_DIR
  return profile === 'full' ? join(ROOT, 'test', 'chaos', 'results') : join(ROOT, '.tmp', 'chaos-results')
}

/** Prints the summary line and writes `<scenario>[-<target>]-<timestamp>.json`; returns the file. */
export function recordSummary(summary: ChaosSummary, opts: RecordOptions = {}): string {
  const profile = opts.profile ?? CHAOS_PROFILE
  const now = opts.now ?? new Date()
  ;(opts.print ?? ((line) => process.stdout.write(line)))(`${JSON.stringify(summary)}\n`)
  const dir = opts.dir ?? resultsDir(profile)
  mkdirSync(dir, { recursive: true })
  const name = [summary.scenario, summary.target, now.toISOString().replace(/[:.]/g, '-')].filter((part) => part !== undefined).join('-')
  const file = join(dir, `${name}.json`)
  const record = { ...summary, profile, recordedAt: now.toISOString(), git: gitState({ cwd: ROOT }) }
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
  return file
}
