// `npm run bench`: every benchmark in one run; a table on stdout and
// bench/results/<date>.json. `--only engine,messaging` runs some; `--quick` shortens.
import '../main/polyfill.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CPU_PROFILE_DIR_ENV } from '../test/helpers/processes.js'
import { describeRun, finishRunMetadata, type RunMetadata, startRunMetadata } from './run-metadata.js'
import type { BenchResult } from './types.js'

type Suite = { name: string; run: (quick: boolean) => Promise<BenchResult[]> }

const SUITES: Suite[] = [
  { name: 'engine', run: async (quick) => (await import('./engine.bench.js')).runEngineBench({ quick }) },
  { name: 'messaging', run: async (quick) => (await import('./messaging.bench.js')).runMessagingBench({ quick }) },
  { name: 'signing', run: async (quick) => (await import('./signing.bench.js')).runSigningBench({ quick }) },
  { name: 'channels', run: async (quick) => (await import('./channels.bench.js')).runChannelsBench({ quick }) },
  { name: 'many-channels', run: async (quick) => (await import('./many-channels.bench.js')).runManyChannelsBench({ quick }) },
  { name: 'wallet', run: async (quick) => (await import('./wallet.bench.js')).runWalletBench({ quick }) },
  { name: 'api', run: async (quick) => (await import('./api.bench.js')).runApiBench({ quick }) },
  { name: 'backups', run: async (quick) => (await import('./backups.bench.js')).runBackupsBench({ quick }) },
  { name: 'messages-render', run: async (quick) => (await import('./messages-render.bench.js')).runMessagesRenderBench({ quick }) },
]

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } } })
const only = values.only ? new Set(values.only.split(',')) : null
const results: BenchResult[] = []
const failed: { suite: string; error: string }[] = []
const started = new Date()
// A profiled run's figures are slowed by the profiler: they stay beside its profiles.
const dir = process.env[CPU_PROFILE_DIR_ENV] ?? join(import.meta.dirname, 'results')
mkdirSync(dir, { recursive: true })
const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`)
// Commit, machine, load and CPU baselines are recorded here, once for every suite.
let meta: RunMetadata = startRunMetadata({ cwd: join(import.meta.dirname, '..') })
// Written after every suite, so a long run that is stopped or fails late keeps what it measured.
const save = (complete: boolean): void =>
  writeFileSync(file, `${JSON.stringify({ date: started.toISOString(), node: process.version, cpus: meta.machine.cores, quick: values.quick, complete, ...meta, failed, results }, null, 2)}\n`)

for (const suite of SUITES) {
  if (only && !only.has(suite.name)) continue
  process.stderr.write(`running ${suite.name}...\n`)
  const t0 = Date.now()
  try {
    for (const r of await suite.run(values.quick ?? false)) results.push({ suite: suite.name, ...r })
    process.stderr.write(`  ${suite.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  } catch (err) {
    // One broken suite must not cost the figures of the others; the run still fails at the end.
    failed.push({ suite: suite.name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    process.stderr.write(`  ${suite.name} FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${String(err)}\n`)
  }
  save(false)
}

const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '' : String(v))
const rows = results.map((r) => [r.suite ?? '', r.name, `${fmt(r.value)} ${r.unit}`, fmt(r.p50), fmt(r.p95), fmt(r.p99), fmt(r.max), r.baseline === undefined ? '' : `${r.baseline} (${r.baselineName ?? 'baseline'})`, fmt(r.ratio), r.target ?? ''])
const header = ['suite', 'benchmark', 'value', 'p50', 'p95', 'p99', 'max', 'baseline (same run)', 'ratio', 'target']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
meta = finishRunMetadata(meta)
process.stdout.write(`${describeRun(meta).join('\n')}\n\n`)
process.stdout.write(`${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`)

save(true)
process.stderr.write(`results written to ${file}\n`)
if (failed.length > 0) {
  process.stderr.write(`failed suites: ${failed.map((f) => f.suite).join(', ')}\n`)
  process.exitCode = 1
}
