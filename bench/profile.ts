// `npm run profile -- <suite>[,<suite>] [--quick]`: the bench runner for those suites under
// Node's own sampling profiler (`--cpu-prof`, no extra dependency). Node 20 refuses the
// flag in NODE_OPTIONS, so an environment variable carries the directory instead and
// runEntry (test/helpers/processes.ts) puts the flag on every Node process the suite spawns
// (daemons, relay, devnet, fixtures): each writes its own .cpuprofile there when it exits.
// A process killed by a signal it does not handle (SIGKILL, or a host without a SIGTERM
// handler) writes none. The run's results JSON lands in the same directory, never in
// bench/results/: profiled figures are slower than real ones.
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { CPU_PROFILE_DIR_ENV } from '../test/helpers/processes.js'
import { formatSummary, summariseProfileFile } from './cpu-profile-summary.js'

const ROOT = resolve(import.meta.dirname, '..')
const [suites, ...rest] = process.argv.slice(2)
if (!suites || suites.startsWith('-')) {
  process.stderr.write('usage: npm run profile -- <suite>[,<suite>...] [--quick]\n  suites: see bench/run.ts (engine, messaging, signing, channels, ...)\n')
  process.exit(2)
}

const dir = join(ROOT, 'bench', 'profiles', `${new Date().toISOString().replace(/[:.]/g, '-')}-${suites.replace(/[^a-z0-9,-]/gi, '_').replace(/,/g, '+')}`)
mkdirSync(dir, { recursive: true })
const env = { ...process.env, [CPU_PROFILE_DIR_ENV]: dir }

const code = await new Promise<number>((resolveCode) => {
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--only', suites, ...rest], { cwd: ROOT, env, stdio: 'inherit' })
  child.once('exit', (c, signal) => resolveCode(c ?? (signal ? 1 : 0)))
})

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()
  .map((f) => join(dir, f))
const summaries = files.map((file) => {
  try {
    return formatSummary(file, summariseProfileFile(file, { root: ROOT, top: 25 }))
  } catch (err) {
    return `${file}: unreadable (${String(err)})`
  }
})
const summaryFile = join(dir, 'summary.txt')
writeFileSync(summaryFile, `${summaries.join('\n\n')}\n`)
process.stdout.write(`\n${summaries.join('\n\n')}\n\n`)
process.stdout.write(`${files.length} CPU profile(s) in ${relative(process.cwd(), dir) || dir}/ (top 25 self-time functions of each in summary.txt, results JSON beside them)\n`)
process.stdout.write('Open a .cpuprofile in https://www.speedscope.app (drag the file in) or in Chrome DevTools (Performance panel, "Load profile").\n')
process.exitCode = code !== 0 ? code : files.length === 0 ? 1 : 0
