// `npm run soak -- --minutes N`: an accelerated soak of real processes on 127.0.0.1 — a
// devnet, a relay that is killed and brought back every minute, and four daemons (one of
// them stopped and restarted every 90 s) exchanging direct messages between all pairs and
// paying through channels that are opened, used and closed over and over. Every
// `--sample-seconds` each daemon's /metrics gives heap used, RSS, active handles and event
// listeners; the report is their growth per hour (least squares after a warm-up) over the
// daemons that were never restarted. A table on stdout, JSON in soak/results/.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT, freePort, tempDir, useBundledHosts } from '../test/helpers/processes.js'
import { Churn } from './churn.js'
import { failureLine } from './failures.js'
import { ProcessSet, SoakDaemon, SoakRelay, startSoakDevnet } from './cluster.js'
import { type Point, type SeriesSummary, metricByLabel, metricSum, summarize, warmupMs } from './stats.js'

const GOAL_HEAP_BYTES_PER_HOUR = 5e6
const P = 'bsv_p2p_'
const SERIES = {
  // Daemons run under --expose-gc here, so the heap is read right after a full collection.
  heapUsed: `${P}heap_used_after_gc_bytes`,
  heapCode: `${P}heap_code_after_gc_bytes`,
  rss: `${P}process_resident_memory_bytes`,
  handles: `${P}nodejs_active_handles_total`,
  listeners: `${P}event_listeners`,
} as const
/** The series summarised: the metrics, and the heap without its compiled code (heapUsed - heapCode). */
type SeriesName = keyof typeof SERIES | 'heapData'
const SUMMARISED: readonly SeriesName[] = ['heapUsed', 'heapData', 'heapCode', 'rss', 'handles', 'listeners']

interface Sample {
  t: number
  pid: number
  life: number
  heapUsed: number | null
  heapCode: number | null
  heapData: number | null
  rss: number | null
  handles: number | null
  listeners: number | null
  listenersBySource: Record<string, number>
  connections: number | null
  peers: number | null
}

const USAGE = `npm run soak -- [--minutes 30] [--sample-seconds 10] [--out soak/results/<date>.json] [--no-build] [--keep]`
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'sample-seconds': { type: 'string', default: '10' },
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const minutes = Number(values.minutes)
const sampleSeconds = Number(values['sample-seconds'])
if (!(minutes > 0) || !(sampleSeconds >= 1)) {
  process.stderr.write(`bad --minutes or --sample-seconds\n${USAGE}\n`)
  process.exit(2)
}
const startedIso = new Date().toISOString()
const outFile = resolve(values.out ?? join(ROOT, 'soak', 'results', `${startedIso.replace(/[:.]/g, '-')}.json`))
const runMs = Math.round(minutes * 60_000)
const log = (msg: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

// --- everything that must be undone, whatever way we leave --------------------------------
const procs = new ProcessSet()
const dirs: { remove: () => void }[] = []
const stop = new AbortController()
let interrupted = false
process.on('exit', () => procs.killAllSync())
let sigints = 0
const onSignal = (sig: string): void => {
  sigints++
  if (sigints > 1) {
    procs.killAllSync()
    process.exit(130)
  }
  log(`${sig}: stopping (again to force)`)
  interrupted = true
  stop.abort()
}
process.on('SIGINT', () => onSignal('SIGINT'))
process.on('SIGTERM', () => onSignal('SIGTERM'))
// A hard bound on the whole run: setup (≤ 5 min) + the soak + teardown (≤ 3 min).
const hardLimitMs = runMs + 8 * 60_000
const watchdog = setTimeout(() => {
  log('hard time limit reached: killing everything')
  procs.killAllSync()
  process.exit(1)
}, hardLimitMs)

// --- the cluster --------------------------------------------------------------------------
const NAMES = ['alice', 'bob', 'carol', 'dave'] as const
const CHURNED = 'dave'
let t0 = Date.now()
const clock = (): number => Date.now() - t0
const samples = new Map<string, Sample[]>(NAMES.map((n) => [n, []]))
const announcements: Record<string, Record<string, number>> = {}
const sampleFailures: Record<string, number> = {}

async function sampleAll(daemons: SoakDaemon[]): Promise<void> {
  await Promise.all(
    daemons.map(async (d) => {
      if (!d.up) return
      const life = d.lives.length - 1
      const pid = d.lives[life]?.pid ?? -1
      try {
        const text = await d.metricsText(stop.signal)
        if (text === null) return
        const heapUsed = metricSum(text, SERIES.heapUsed)
        const heapCode = metricSum(text, SERIES.heapCode)
        samples.get(d.name)!.push({
          t: clock(),
          pid,
          life,
          heapUsed,
          heapCode,
          heapData: heapUsed !== null && heapCode !== null ? heapUsed - heapCode : null,
          rss: metricSum(text, SERIES.rss),
          handles: metricSum(text, SERIES.handles),
          listeners: metricSum(text, SERIES.listeners),
          listenersBySource: metricByLabel(text, SERIES.listeners, 'source'),
          connections: metricSum(text, `${P}connections`),
          peers: metricSum(text, `${P}peers`),
        })
        announcements[d.name] = metricByLabel(text, `${P}discovery_announcements_total`, 'result')
      } catch {
        if (!stop.signal.aborted && d.up) sampleFailures[d.name] = (sampleFailures[d.name] ?? 0) + 1
      }
    }),
  )
}

let exitCode = 0
let churn: Churn | null = null
const daemons: SoakDaemon[] = []
let setupError: string | null = null
let endedAt = 0
try {
  if (!values['no-build']) {
    log('building the hosts (npm run build:hosts)')
    execFileSync('npm', ['run', '-s', 'build:hosts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 })
  }
  useBundledHosts()

  log('starting devnet, relay and daemons')
  const devnetUrl = await startSoakDevnet(procs)
  const relayDir = tempDir('bsv-p2p-soak-relay-')
  dirs.push(relayDir)
  const relay = new SoakRelay(relayDir.path, await freePort(), procs)
  await relay.start()
  for (const name of NAMES) {
    const dir = tempDir(`bsv-p2p-soak-${name}-`)
    dirs.push(dir)
    daemons.push(new SoakDaemon(name, dir.path, await freePort(), ['--chain-url', devnetUrl, '--relay', relay.multiaddr], procs))
  }
  await Promise.all(daemons.map((d) => d.start(0)))
  churn = new Churn(daemons, relay, devnetUrl, stop.signal, clock)
  await churn.connectAll()
  const [alice, bob, carol, dave] = daemons as [SoakDaemon, SoakDaemon, SoakDaemon, SoakDaemon]
  for (const d of daemons) await churn.fund(d, 1_000_000, 2_000_000)
  await churn.mine(1)
  log(`cluster up: devnet ${devnetUrl}, relay ${relay.multiaddr}; soaking for ${minutes} min, sampling every ${sampleSeconds} s`)

  // --- the soak ---------------------------------------------------------------------------
  t0 = Date.now()
  for (const d of daemons) d.lives[0]!.startedAt = 0
  const loops: Promise<void>[] = [
    churn.messageLoop(1000),
    churn.channelLoop(alice, bob, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(bob, carol, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(carol, alice, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(dave, alice, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.minerLoop(15_000),
    churn.relayFlapLoop(60_000, 3000),
    churn.peerChurnLoop(dave, 90_000, 5000),
  ]
  const c = churn
  const sampler = (async () => {
    let next = 0
    let lastProgress = 0
    while (!stop.signal.aborted && clock() < runMs) {
      await sampleAll(daemons)
      if (clock() - lastProgress >= 60_000) {
        lastProgress = clock()
        const heaps = daemons.map((d) => `${d.name} ${mb(samples.get(d.name)!.at(-1)?.heapUsed)}`).join(', ')
        log(`t=${Math.round(clock() / 1000)} s heap MB: ${heaps}; msgs ${c.counts.messagesSent}, payments ${c.counts.payments}, flaps ${c.counts.relayFlaps}, restarts ${c.counts.peerRestarts}, errors ${c.errorCount}`)
      }
      next += sampleSeconds * 1000
      await c.sleep(Math.max(0, Math.min(next, runMs) - clock()))
    }
    await sampleAll(daemons)
  })()
  await sampler
  endedAt = clock()
  log('soak time over: stopping the workload')
  stop.abort()
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 60_000).unref())])
} catch (err) {
  setupError = err instanceof Error ? err.message : String(err)
  log(`failed: ${setupError}`)
  exitCode = 1
  stop.abort()
} finally {
  endedAt ||= clock()
  log('stopping all processes')
  await procs.stopAll(10_000)
  if (procs.size > 0) log(`${procs.size} processes did not report an exit`)
  if (!values.keep) for (const d of dirs) d.remove()
}

// --- the report ---------------------------------------------------------------------------
function mb(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : (v / 1e6).toFixed(1)
}
function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '-' : v.toFixed(digits)
}
const mbh = (v: number | null | undefined): string => num(v === null || v === undefined ? null : v / 1e6, 2)
const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'met' : 'NOT met')

const warmup = warmupMs(endedAt)
const stableNames = daemons.filter((d) => d.restarts === 0).map((d) => d.name)
type DaemonSummary = { restarts: number; samples: number; stable: boolean } & Partial<Record<SeriesName, SeriesSummary | null>>
const perDaemon: Record<string, DaemonSummary> = {}
for (const d of daemons) {
  const list = samples.get(d.name) ?? []
  const stable = d.restarts === 0
  const entry: DaemonSummary = { restarts: d.restarts, samples: list.length, stable }
  for (const name of SUMMARISED) {
    const pts: Point[] = list.filter((s) => s[name] !== null).map((s) => ({ t: s.t, v: s[name]! }))
    const s = summarize(pts, warmup)
    // A restarted daemon's series mixes process lives: first/last/max only, no growth.
    entry[name] = s && !stable ? { ...s, perHour: null, floorPerHour: null, latePerHour: null } : s
  }
  perDaemon[d.name] = entry
}
const stableGrowth = (name: SeriesName, of: 'perHour' | 'latePerHour' = 'perHour'): { max: number | null; mean: number | null } => {
  const v = stableNames.map((n) => perDaemon[n]?.[name]?.[of]).filter((x): x is number => typeof x === 'number')
  return { max: v.length ? Math.max(...v) : null, mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null }
}
const heapGrowth = stableGrowth('heapUsed')
const heapFloorValues = stableNames.map((n) => perDaemon[n]?.heapUsed?.floorPerHour).filter((x): x is number => typeof x === 'number')
const heapFloorGrowthMax = heapFloorValues.length ? Math.max(...heapFloorValues) : null
const handlesGrowth = stableGrowth('handles')
const dataGrowth = stableGrowth('heapData')
const summary = {
  growthOver: stableNames,
  note: `growth per hour is the least-squares slope after a ${Math.round(warmup / 1000)} s warm-up, over the daemons never restarted (${stableNames.join(', ') || 'none'}); ${CHURNED} is restarted by the soak and reports first/last/max only`,
  heapBytesPerHour: heapGrowth,
  heapFloorBytesPerHourMax: heapFloorGrowthMax,
  heapLateBytesPerHour: stableGrowth('heapUsed', 'latePerHour'),
  /** The heap without compiled code, which V8 adds to as it optimises more functions and which levels off. */
  heapDataBytesPerHour: dataGrowth,
  heapDataLateBytesPerHour: stableGrowth('heapData', 'latePerHour'),
  heapCodeBytesPerHour: stableGrowth('heapCode'),
  rssBytesPerHour: stableGrowth('rss'),
  rssLateBytesPerHour: stableGrowth('rss', 'latePerHour'),
  handlesPerHour: handlesGrowth,
  listenersPerHour: stableGrowth('listeners'),
  goal: { heapBytesPerHour: GOAL_HEAP_BYTES_PER_HOUR, handles: 'flat' },
  heapWithinGoal: heapGrowth.max !== null ? heapGrowth.max < GOAL_HEAP_BYTES_PER_HOUR : null,
  heapDataWithinGoal: dataGrowth.max !== null ? dataGrowth.max < GOAL_HEAP_BYTES_PER_HOUR : null,
}

const header = ['daemon', 'restarts', 'samples', 'heap MB first/last/max', 'heap MB/h', 'heap floor MB/h', 'heap MB/h 2nd half', 'without code MB/h', 'code MB/h', 'RSS MB first/last/max', 'RSS MB/h', 'handles first/last/max', 'handles/h', 'listeners first/last/max', 'listeners/h']
const rows = daemons.map((d) => {
  const e = perDaemon[d.name]!
  const ffm = (s: SeriesSummary | null | undefined, f: (v: number) => string): string => (s ? `${f(s.first)}/${f(s.last)}/${f(s.max)}` : '-')
  const rate = (s: SeriesSummary | null | undefined, div: number, digits: number): string => (s?.perHour === null || s?.perHour === undefined ? 'n/a' : (s.perHour / div).toFixed(digits))
  return [
    d.name,
    String(d.restarts),
    String(e.samples),
    ffm(e.heapUsed, (v) => mb(v)),
    rate(e.heapUsed, 1e6, 2),
    e.heapUsed?.floorPerHour === null || e.heapUsed?.floorPerHour === undefined ? 'n/a' : (e.heapUsed.floorPerHour / 1e6).toFixed(2),
    e.heapUsed?.latePerHour === null || e.heapUsed?.latePerHour === undefined ? 'n/a' : (e.heapUsed.latePerHour / 1e6).toFixed(2),
    rate(e.heapData, 1e6, 2),
    rate(e.heapCode, 1e6, 2),
    ffm(e.rss, (v) => mb(v)),
    rate(e.rss, 1e6, 2),
    ffm(e.handles, (v) => String(v)),
    rate(e.handles, 1, 1),
    ffm(e.listeners, (v) => String(v)),
    rate(e.listeners, 1, 1),
  ]
})
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
const counts = churn?.counts
const out: string[] = [
  `soak: ${num(endedAt / 60_000)} min of ${minutes} requested, samples every ${sampleSeconds} s, warm-up ${Math.round(warmup / 1000)} s discarded${interrupted ? ' (interrupted)' : ''}${setupError ? ` (FAILED: ${setupError})` : ''}`,
  failureLine({ counts: counts ?? null, errors: churn?.errors ?? {}, sampleFailures, setupError, interrupted }),
  line(header),
  line(widths.map((w) => '-'.repeat(w))),
  ...rows.map(line),
  '',
  `growth over the daemons never restarted (${stableNames.join(', ') || 'none'}): heap ${mbh(heapGrowth.max)} MB/h max, ${mbh(heapGrowth.mean)} MB/h mean, floor ${mbh(heapFloorGrowthMax)} MB/h max, second half ${mbh(summary.heapLateBytesPerHour.max)} MB/h max (goal < ${GOAL_HEAP_BYTES_PER_HOUR / 1e6} MB/h: ${verdict(summary.heapWithinGoal)}); without compiled code ${mbh(dataGrowth.max)} MB/h max, second half ${mbh(summary.heapDataLateBytesPerHour.max)} (${verdict(summary.heapDataWithinGoal)}); RSS ${mbh(summary.rssBytesPerHour.max)} MB/h max, second half ${mbh(summary.rssLateBytesPerHour.max)}; handles ${num(handlesGrowth.max, 1)}/h max; listeners ${num(summary.listenersPerHour.max, 1)}/h max`,
]
if (counts && churn) {
  out.push(
    `churn: messages ${counts.messagesSent} delivered / ${counts.messagesFailed} failed; payments ${counts.payments} (${counts.paidSats} sat) / ${counts.paymentsFailed} failed; channels ${counts.channelsOpened} opened, ${counts.channelsClosed} closed, ${counts.channelsAbandoned} abandoned; relay flaps ${counts.relayFlaps}; peer restarts ${counts.peerRestarts}; blocks ${counts.blocksMined}; faucet refills ${counts.faucetRefills}; errors ${churn.errorCount}`,
  )
  const ann = Object.entries(announcements).map(([n, r]) => `${n} ${Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ')}`)
  if (ann.length) out.push(`announcements (last sample of each daemon, by result): ${ann.join('; ')}`)
  for (const [kind, e] of Object.entries(churn.errors)) out.push(`  error ${kind}: ${e.count} (e.g. ${e.examples[0] ?? ''})`)
}
if (Object.keys(sampleFailures).length) out.push(`metric scrapes that failed: ${JSON.stringify(sampleFailures)}`)
process.stdout.write(`${out.join('\n')}\n`)

mkdirSync(dirname(outFile), { recursive: true })
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      date: startedIso,
      node: process.version,
      cpus: cpus().length,
      totalMemBytes: totalmem(),
      loadavgAtEnd: loadavg(),
      options: { minutes, sampleSeconds },
      interrupted,
      error: setupError,
      durationMs: endedAt,
      warmupMs: warmup,
      workload: {
        daemons: NAMES,
        churned: CHURNED,
        messages: 'one direct message from every running daemon to every other, every second',
        channels: 'alice->bob, bob->carol, carol->alice, dave->alice: open 20,000 sat, 100 payments of 1-7 sat, close, mine, again',
        relayFlap: 'SIGKILL every 60 s, back on the same port and data dir after 3 s',
        peerChurn: 'dave stopped (SIGTERM) every 90 s, back on the same port and data dir after 5 s',
        mining: 'one block every 15 s and after each close',
      },
      summary,
      perDaemon,
      churn: counts ?? null,
      errors: churn?.errors ?? {},
      announcements,
      sampleFailures,
      daemons: daemons.map((d) => ({ name: d.name, restarts: d.restarts, lives: d.lives, samples: samples.get(d.name) ?? [] })),
    },
    null,
    2,
  )}\n`,
)
log(`results written to ${outFile}`)
clearTimeout(watchdog)
if (procs.size > 0) procs.killAllSync()
process.exit(interrupted ? 130 : exitCode)
