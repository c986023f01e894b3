// `npm run soak -- --minutes N`: an accelerated soak of real processes on 127.0.0.1 — a
// devnet, a relay that is killed and brought back every minute, and four daemons (one of
// them stopped and restarted every 90 s) exchanging direct messages between all pairs and
// paying through channels that are opened, used and closed over and over. Every
// `--sample-seconds` each daemon's /metrics gives heap used, RSS, active handles and event
// listeners; the report is their growth per hour (least squares after a warm-up) over the
// daemons that were never restarted. A table on stdout, JSON in soak/results/.
//
// `npm run soak -- --day [--scale S]`: a busy wallet's day (soak/day.ts: 100,000 payments over
// 200 channel cycles, 20,000 messages, 1,000 relay flaps, 500 restarts of dave), each kind
// paced to reach its target after 90 minutes; the run ends when all are reached, or at a
// 120-minute cap that reports the ones missed. Growth is also given per 100,000 operations,
// projected to 24 hours and 30 days at the run's rate. --scale shrinks targets and times alike.
import { execFileSync } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT, freePort, tempDir, useBundledHosts } from '../test/helpers/processes.js'
import { Churn, type ChurnCounts, type CycleTiming, type DayChannelPlan, Pacer } from './churn.js'
import { BUSY_DAY, DAY_CAP_MS, DAY_PACE_MS, type DayTargets, MEMORY_LIMIT_BYTES, OPS_UNIT, type OpsGrowth, type OpsPoint, growthPerOps, isFlat, missedTargets, operations, opsPerHour, scaleTargets, within30BusyDays, within30Days } from './day.js'
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
  // RSS broken down: the V8 heap reserved, memory V8 knows of outside it (buffers), and the
  // rest (outsideHeap below: SQLite, libuv, OpenSSL, the allocator's arenas, the binary).
  heapTotal: `${P}nodejs_heap_size_total_bytes`,
  external: `${P}nodejs_external_memory_bytes`,
  handles: `${P}nodejs_active_handles_total`,
  listeners: `${P}event_listeners`,
  fds: `${P}process_open_fds`,
} as const
/**
 * The series summarised: the metrics, the heap without its compiled code (heapUsed - heapCode)
 * and the database on disk (every *.sqlite / *.db and its -wal in the data dir).
 */
type SeriesName = keyof typeof SERIES | 'heapData' | 'dbBytes' | 'outsideHeap' | 'rssAnon' | 'rssFile'
const SUMMARISED: readonly SeriesName[] = ['heapUsed', 'heapData', 'heapCode', 'heapTotal', 'external', 'rss', 'rssAnon', 'rssFile', 'outsideHeap', 'handles', 'fds', 'listeners', 'dbBytes']
/** The series `--day` gives per 100,000 operations; the database for every daemon (it outlives restarts), the rest for the never-restarted ones. */
const DAY_SERIES = ['heapUsed', 'rss', 'handles', 'fds', 'listeners', 'dbBytes'] as const
/** The memory series `--day` also fits over its second half alone, RSS broken down. */
const SETTLED_SERIES = ['heapUsed', 'rss', 'rssAnon', 'heapTotal', 'external', 'outsideHeap'] as const
/** Payments in flight at once on each channel in `--day` (the engine coalesces queued ones). */
const DAY_PAY_PIPELINE = 4
const DAY_RELAY_DOWN_MS = 1500
const DAY_PEER_DOWN_MS = 2000
const DAY_CYCLE_PAYMENTS = Math.ceil(BUSY_DAY.payments / BUSY_DAY.channelCycles)
const perSecond = (c: CycleTiming): string => (c.payMs > 0 ? ((c.payments * 1000) / c.payMs).toFixed(1) : '-')
let calibration: CycleTiming | null = null

interface Sample {
  t: number
  pid: number
  life: number
  heapUsed: number | null
  heapCode: number | null
  heapTotal: number | null
  external: number | null
  /** RSS - heapTotal - external: what neither V8's heap nor its external memory accounts for. */
  outsideHeap: number | null
  /**
   * RSS split by the kernel (/proc/<pid>/smaps_rollup; null off Linux): the process's own
   * memory (anonymous: V8's heap, the allocator's arenas, thread stacks) and pages of mapped
   * files (mostly Node's own code, shared with every Node process and dropped under pressure).
   */
  rssAnon: number | null
  rssFile: number | null
  heapData: number | null
  rss: number | null
  handles: number | null
  listeners: number | null
  fds: number | null
  dbBytes: number | null
  /** Operations done when the sample was taken (soak/day.ts `operations`). */
  ops: number
  listenersBySource: Record<string, number>
  connections: number | null
  peers: number | null
}

const USAGE = `npm run soak -- [--minutes 30 | --day [--scale 1]] [--sample-seconds 10] [--daemon-config JSON] [--out soak/results/<date>.json] [--no-build] [--keep]
  --minutes N   the steady workload for N minutes; growth per hour
  --day         a busy wallet's day (${BUSY_DAY.payments} payments over ${BUSY_DAY.channelCycles} channel cycles, ${BUSY_DAY.messages} messages,
                ${BUSY_DAY.relayFlaps} relay flaps, ${BUSY_DAY.peerRestarts} peer restarts) paced over ${DAY_PACE_MS / 60_000} min, capped at ${DAY_CAP_MS / 60_000} min;
                growth per ${OPS_UNIT} operations, projected to 24 h and 30 days
  --scale S     with --day: targets, pace and cap times S (0.05: about 5 minutes)
  --daemon-config JSON  config keys every daemon runs with besides the soak's own, e.g. '{"database":{"cacheMiB":2}}'`
const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    day: { type: 'boolean', default: false },
    scale: { type: 'string' },
    'sample-seconds': { type: 'string', default: '10' },
    'daemon-config': { type: 'string' },
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
const dayMode = values.day
const scale = Number(values.scale ?? '1')
const sampleSeconds = Number(values['sample-seconds'])
if ((dayMode && values.minutes !== undefined) || (!dayMode && values.scale !== undefined) || !(scale > 0)) {
  process.stderr.write(`--day and --minutes do not go together; --scale (> 0) goes with --day\n${USAGE}\n`)
  process.exit(2)
}
let daemonConfig: Record<string, unknown> = {}
try {
  const parsed: unknown = JSON.parse(values['daemon-config'] ?? '{}')
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object')
  daemonConfig = parsed as Record<string, unknown>
} catch (err) {
  process.stderr.write(`bad --daemon-config: ${(err as Error).message}\n${USAGE}\n`)
  process.exit(2)
}
const dayTargets: DayTargets | null = dayMode ? scaleTargets(BUSY_DAY, scale) : null
const dayPaceMs = Math.round(DAY_PACE_MS * scale)
/** In --day, `minutes` is the cap. */
const minutes = dayMode ? (DAY_CAP_MS * scale) / 60_000 : Number(values.minutes ?? '30')
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
// Every sleep and call of the workload listens on it: a day's pipelined payments alone keep a dozen at once.
setMaxListeners(100, stop.signal)
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
/** Operations done at each sampling round, for the run's operation rate. */
const opsSeries: Point[] = []

const dayDone = (c: ChurnCounts): DayTargets => ({ payments: c.payments, channelCycles: c.channelsClosed, messages: c.messagesSent, relayFlaps: c.relayFlaps, peerRestarts: c.peerRestarts })
const opsNow = (): number => (churn ? operations(dayDone(churn.counts)) : 0)

/** The database files on disk (database and write-ahead log), in bytes. */
function databaseBytes(dir: string): number | null {
  try {
    return readdirSync(dir)
      .filter((f) => /\.(sqlite|db)(-wal)?$/.test(f))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0)
  } catch {
    return null
  }
}

/** RSS split into anonymous memory and mapped files, from /proc (null off Linux). */
function procRss(pid: number): { anon: number; file: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024
    const [rss, anon] = [kb('Rss'), kb('Anonymous')]
    return Number.isFinite(rss) && Number.isFinite(anon) ? { anon, file: rss - anon } : null
  } catch {
    return null
  }
}

/** Open descriptors from /proc, for when the metric is missing. */
function procFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return null
  }
}

async function sampleAll(daemons: SoakDaemon[]): Promise<void> {
  const ops = opsNow()
  opsSeries.push({ t: clock(), v: ops })
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
        const rss = metricSum(text, SERIES.rss)
        const heapTotal = metricSum(text, SERIES.heapTotal)
        const external = metricSum(text, SERIES.external)
        const split = procRss(pid)
        samples.get(d.name)!.push({
          t: clock(),
          pid,
          life,
          heapUsed,
          heapCode,
          heapData: heapUsed !== null && heapCode !== null ? heapUsed - heapCode : null,
          rss,
          heapTotal,
          external,
          outsideHeap: rss !== null && heapTotal !== null && external !== null ? rss - heapTotal - external : null,
          rssAnon: split?.anon ?? null,
          rssFile: split?.file ?? null,
          handles: metricSum(text, SERIES.handles),
          listeners: metricSum(text, SERIES.listeners),
          fds: metricSum(text, SERIES.fds) ?? procFds(pid),
          dbBytes: databaseBytes(d.dataDir),
          ops,
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
    daemons.push(new SoakDaemon(name, dir.path, await freePort(), ['--chain-url', devnetUrl, '--relay', relay.multiaddr], procs, daemonConfig))
  }
  await Promise.all(daemons.map((d) => d.start(0)))
  churn = new Churn(daemons, relay, devnetUrl, stop.signal, clock)
  await churn.connectAll()
  const [alice, bob, carol, dave] = daemons as [SoakDaemon, SoakDaemon, SoakDaemon, SoakDaemon]
  for (const d of daemons) await churn.fund(d, 1_000_000, 2_000_000)
  await churn.mine(1)
  if (dayTargets) {
    // The pay rate one cycle reaches unpaced (the day needs about 19 payments/s at scale 1 over three channels).
    log(`calibration: one cycle of ${DAY_CYCLE_PAYMENTS} payments alice->bob, ${DAY_PAY_PIPELINE} in flight, unpaced`)
    calibration = await churn.calibrateCycle(alice, bob, DAY_CYCLE_PAYMENTS, DAY_PAY_PIPELINE)
    log(`calibration: ${calibration ? `${calibration.payments} payments in ${calibration.payMs} ms (${perSecond(calibration)}/s), open ${calibration.openMs} ms, close ${calibration.closeMs} ms` : 'failed'}`)
  }
  log(
    dayTargets
      ? `cluster up: devnet ${devnetUrl}, relay ${relay.multiaddr}; a day at scale ${scale}: ${JSON.stringify(dayTargets)} paced over ${num(dayPaceMs / 60_000)} min, cap ${num(minutes)} min, sampling every ${sampleSeconds} s`
      : `cluster up: devnet ${devnetUrl}, relay ${relay.multiaddr}; soaking for ${minutes} min, sampling every ${sampleSeconds} s`,
  )

  // --- the soak ---------------------------------------------------------------------------
  t0 = Date.now()
  for (const d of daemons) d.lives[0]!.startedAt = 0
  const c = churn
  const pacer = (target: number): Pacer => new Pacer(target, dayPaceMs, clock, (ms) => c.sleep(ms))
  const dayChannels: DayChannelPlan | null = dayTargets
    ? { cycles: dayTargets.channelCycles, payments: dayTargets.payments, pacer: pacer(dayTargets.payments), concurrency: DAY_PAY_PIPELINE, inFlight: 0 }
    : null
  // dave restarts every ~11 s in a day, too often to finish a cycle: the day's channels are between the other three.
  const loops: Promise<void>[] = dayTargets
    ? [
        churn.messageLoop(1000, pacer(dayTargets.messages)),
        ...([
          [alice, bob],
          [bob, carol],
          [carol, alice],
        ] as const).map(([payer, payee]) =>
          c.channelLoop(payer, payee, { capacitySats: 20_000, payments: DAY_CYCLE_PAYMENTS, pauseMs: 500, day: dayChannels! }),
        ),
        churn.minerLoop(15_000),
        churn.relayFlapLoop(0, DAY_RELAY_DOWN_MS, pacer(dayTargets.relayFlaps)),
        churn.peerChurnLoop(dave, 0, DAY_PEER_DOWN_MS, pacer(dayTargets.peerRestarts)),
      ]
    : [
    churn.messageLoop(1000),
    churn.channelLoop(alice, bob, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(bob, carol, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(carol, alice, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.channelLoop(dave, alice, { capacitySats: 20_000, payments: 100, pauseMs: 1000 }),
    churn.minerLoop(15_000),
    churn.relayFlapLoop(60_000, 3000),
    churn.peerChurnLoop(dave, 90_000, 5000),
      ]
  const dayOver = (): boolean => dayTargets !== null && missedTargets(dayDone(c.counts), dayTargets).length === 0
  const sampler = (async () => {
    let next = 0
    let lastProgress = 0
    while (!stop.signal.aborted && clock() < runMs && !dayOver()) {
      await sampleAll(daemons)
      if (clock() - lastProgress >= 60_000) {
        lastProgress = clock()
        const heaps = daemons.map((d) => `${d.name} ${mb(samples.get(d.name)!.at(-1)?.heapUsed)}`).join(', ')
        log(`t=${Math.round(clock() / 1000)} s heap MB: ${heaps}; msgs ${c.counts.messagesSent}, payments ${c.counts.payments}, cycles ${c.counts.channelsClosed}, flaps ${c.counts.relayFlaps}, restarts ${c.counts.peerRestarts}, errors ${c.errorCount}`)
      }
      next += sampleSeconds * 1000
      // In a day, look at the targets every second: the run ends as soon as they are all met.
      while (!stop.signal.aborted && clock() < Math.min(next, runMs) && !dayOver()) await c.sleep(Math.min(dayTargets ? 1000 : Infinity, Math.min(next, runMs) - clock()))
    }
    await sampleAll(daemons)
  })()
  await sampler
  endedAt = clock()
  log(dayOver() ? 'every target of the day met: stopping the workload' : 'soak time over: stopping the workload')
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
function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '-' : v.toFixed(digits)
}
function mb(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : (v / 1e6).toFixed(1)
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
  fdsPerHour: stableGrowth('fds'),
  listenersPerHour: stableGrowth('listeners'),
  goal: { heapBytesPerHour: GOAL_HEAP_BYTES_PER_HOUR, handles: 'flat' },
  heapWithinGoal: heapGrowth.max !== null ? heapGrowth.max < GOAL_HEAP_BYTES_PER_HOUR : null,
  heapDataWithinGoal: dataGrowth.max !== null ? dataGrowth.max < GOAL_HEAP_BYTES_PER_HOUR : null,
}

const header = ['daemon', 'restarts', 'samples', 'heap MB first/last/max', 'heap MB/h', 'heap floor MB/h', 'heap MB/h 2nd half', 'without code MB/h', 'code MB/h', 'RSS MB first/last/max', 'RSS MB/h', 'handles first/last/max', 'handles/h', 'fds first/last/max', 'fds/h', 'listeners first/last/max', 'listeners/h', 'DB MB first/last/max']
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
    ffm(e.fds, (v) => String(v)),
    rate(e.fds, 1, 1),
    ffm(e.listeners, (v) => String(v)),
    rate(e.listeners, 1, 1),
    ffm(e.dbBytes, (v) => mb(v)),
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
  `growth over the daemons never restarted (${stableNames.join(', ') || 'none'}): heap ${mbh(heapGrowth.max)} MB/h max, ${mbh(heapGrowth.mean)} MB/h mean, floor ${mbh(heapFloorGrowthMax)} MB/h max, second half ${mbh(summary.heapLateBytesPerHour.max)} MB/h max (goal < ${GOAL_HEAP_BYTES_PER_HOUR / 1e6} MB/h: ${verdict(summary.heapWithinGoal)}); without compiled code ${mbh(dataGrowth.max)} MB/h max, second half ${mbh(summary.heapDataLateBytesPerHour.max)} (${verdict(summary.heapDataWithinGoal)}); RSS ${mbh(summary.rssBytesPerHour.max)} MB/h max, second half ${mbh(summary.rssLateBytesPerHour.max)}; handles ${num(handlesGrowth.max, 1)}/h max; descriptors ${num(summary.fdsPerHour.max, 1)}/h max; listeners ${num(summary.listenersPerHour.max, 1)}/h max`,
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

// --- a day: growth per 100,000 operations ---------------------------------------------------
const dayReport = dayTargets && counts ? reportDay(dayTargets, counts) : null
if (dayReport) out.push('', ...dayReport.lines)

function reportDay(targets: DayTargets, c: ChurnCounts) {
  const done = dayDone(c)
  const missed = missedTargets(done, targets)
  const rate = opsPerHour(opsSeries, warmup)
  const growth: Record<string, Partial<Record<(typeof DAY_SERIES)[number], OpsGrowth | null>>> = {}
  for (const d of daemons) {
    const list = samples.get(d.name) ?? []
    const entry: (typeof growth)[string] = {}
    for (const name of DAY_SERIES) {
      if (d.restarts > 0 && name !== 'dbBytes') continue
      const pts: OpsPoint[] = list.filter((s) => s[name] !== null).map((s) => ({ t: s.t, ops: s.ops, v: s[name]! }))
      entry[name] = growthPerOps(pts, warmup, rate)
    }
    growth[d.name] = entry
  }
  // Settled: the same fit over the run's second half only. The first half also holds the
  // working set filling up (SQLite's page cache, V8's code, the allocator's arenas), which a
  // straight line from the warm-up counts as growth for ever; the second half shows whether
  // memory still grows once that is done. Reported beside the goal's reading, not instead.
  const settled: Record<string, Partial<Record<(typeof SETTLED_SERIES)[number], OpsGrowth | null>>> = {}
  for (const name of stableNames) {
    const list = samples.get(name) ?? []
    const entry: (typeof settled)[string] = {}
    for (const series of SETTLED_SERIES) {
      const pts: OpsPoint[] = list.filter((s) => s[series] !== null).map((s) => ({ t: s.t, ops: s.ops, v: s[series]! }))
      entry[series] = growthPerOps(pts, endedAt / 2, rate)
    }
    settled[name] = entry
  }
  const settledRss = stableNames.map((n) => within30BusyDays(settled[n]?.rss ?? null))
  const rssSettledUnder200MbFor30BusyDays = settledRss.length === 0 || settledRss.includes(null) ? null : settledRss.every(Boolean)
  const all = (name: (typeof DAY_SERIES)[number], test: (g: OpsGrowth | null) => boolean | null): boolean | null => {
    const v = stableNames.map((n) => test(growth[n]?.[name] ?? null))
    return v.length === 0 || v.includes(null) ? null : v.every(Boolean)
  }
  const verdicts = {
    heapUnder200MbFor30BusyDays: all('heapUsed', within30BusyDays),
    rssUnder200MbFor30BusyDays: all('rss', within30BusyDays),
    handlesFlat: all('handles', isFlat),
    fdsFlat: all('fds', isFlat),
    listenersFlat: all('listeners', isFlat),
  }
  // Stricter, reported beside: 30 days at the run's own rate (many busy days a day).
  const atRunRate = { heapUnder200MbFor30DaysAtRunRate: all('heapUsed', within30Days), rssUnder200MbFor30DaysAtRunRate: all('rss', within30Days) }
  const parts = Object.values(verdicts)
  const goalMet = parts.includes(null) ? null : parts.every(Boolean)
  const total = operations(done)
  const kinds = (Object.keys(targets) as (keyof DayTargets)[]).map((k) => `${k} ${done[k]}/${targets[k]}`).join(', ')
  const unit = (OPS_UNIT / 1000).toFixed(0)
  const cell = (g: OpsGrowth | null | undefined, div: number, digits: number): string =>
    g ? `${num(g.perUnit === null ? null : g.perUnit / div, digits)} / ${num(g.projected24h === null ? null : g.projected24h / div, digits)} / ${num(g.projected30d === null ? null : g.projected30d / div, digits)}` : 'n/a'
  const dayHeader = ['daemon', `heap MB per ${unit}k ops / 24 h / 30 d`, 'RSS MB', 'handles', 'fds', 'listeners', 'DB MB last', 'DB MB']
  const dayRows = daemons.map((d) => {
    const g = growth[d.name] ?? {}
    return [d.name, cell(g.heapUsed, 1e6, 2), cell(g.rss, 1e6, 2), cell(g.handles, 1, 1), cell(g.fds, 1, 1), cell(g.listeners, 1, 1), mb(g.dbBytes?.last), cell(g.dbBytes, 1e6, 2)]
  })
  const w = dayHeader.map((h, i) => Math.max(h.length, ...dayRows.map((r) => r[i]!.length)))
  const dayLine = (cells: string[]): string => `| ${cells.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`
  const cycles = churn?.cycleTimes ?? []
  const mean = (f: (x: CycleTiming) => number): number | null => (cycles.length ? cycles.reduce((n, x) => n + f(x), 0) / cycles.length : null)
  const cycleSummary = { completed: cycles.length, meanOpenMs: mean((x) => x.openMs), meanPayMs: mean((x) => x.payMs), meanPayments: mean((x) => x.payments), meanCloseMs: mean((x) => x.closeMs), calibration }
  const busyDayOps = operations(BUSY_DAY)
  const operationsDefinition = 'operations = payments + messages delivered + channel cycles completed (closed on both sides) + relay flaps + peer restarts'
  const lines = [
    `day (scale ${scale}): ${missed.length ? `targets MISSED at the ${num(minutes)}-min cap: ${missed.map((m) => `${m.kind} ${m.done}/${m.target}`).join(', ')}` : `all targets met after ${num(endedAt / 60_000)} min (paced for ${num(dayPaceMs / 60_000)})`}; done/target: ${kinds}`,
    `${operationsDefinition}: ${total} in ${num(endedAt / 60_000)} min, ${num(rate, 0)}/h after the warm-up (${num(rate === null ? null : (rate * 24) / busyDayOps)} busy-wallet days a day; a busy day is ${busyDayOps}); failures: messages ${c.messagesFailed}, payments ${c.paymentsFailed}, channels abandoned ${c.channelsAbandoned}, failed calls ${churn?.errorCount ?? 0}`,
    `channel cycles: ${cycles.length} timed, mean open ${num(cycleSummary.meanOpenMs, 0)} ms, ${num(cycleSummary.meanPayments, 0)} payments in ${num(cycleSummary.meanPayMs === null ? null : cycleSummary.meanPayMs / 1000)} s (paced), close to closed on both sides ${num(cycleSummary.meanCloseMs, 0)} ms; unpaced calibration cycle: ${calibration ? `${calibration.payments} payments in ${num(calibration.payMs / 1000)} s = ${perSecond(calibration)}/s with ${DAY_PAY_PIPELINE} in flight` : 'failed'}`,
    `growth per ${OPS_UNIT} operations, and projected to 24 h / 30 days at ${num(rate, 0)} operations/h (least squares after the warm-up; DB for every daemon, the rest over ${stableNames.join(', ') || 'none'}):`,
    dayLine(dayHeader),
    dayLine(w.map((x) => '-'.repeat(x))),
    ...dayRows.map(dayLine),
    `second half only (settled), per ${unit}k ops: ${stableNames.map((n) => `${n} ${SETTLED_SERIES.map((k) => `${k} ${num(settled[n]?.[k]?.perUnit === null || settled[n]?.[k]?.perUnit === undefined ? null : settled[n]![k]!.perUnit! / 1e6, 2)} MB (last ${mb(settled[n]?.[k]?.last)})`).join(', ')}`).join('; ')}; RSS under ${MEMORY_LIMIT_BYTES / 1e6} MB for 30 busy days at the settled rate: ${verdict(rssSettledUnder200MbFor30BusyDays)}`,
    `goal (heap and RSS after 30 busy-wallet days under ${MEMORY_LIMIT_BYTES / 1e6} MB, last sample + growth per ${unit}k ops × ${num((30 * busyDayOps) / OPS_UNIT, 1)}; handles, descriptors and listeners flat, i.e. the fitted line gains < 1 over the run): ${verdict(goalMet)} — heap ${verdict(verdicts.heapUnder200MbFor30BusyDays)}, RSS ${verdict(verdicts.rssUnder200MbFor30BusyDays)}, handles ${verdict(verdicts.handlesFlat)}, descriptors ${verdict(verdicts.fdsFlat)}, listeners ${verdict(verdicts.listenersFlat)}; stricter, 30 days at this run's rate: heap ${verdict(atRunRate.heapUnder200MbFor30DaysAtRunRate)}, RSS ${verdict(atRunRate.rssUnder200MbFor30DaysAtRunRate)}`,
  ]
  const json = {
    scale,
    paceMs: dayPaceMs,
    capMs: runMs,
    targets,
    done,
    allMet: missed.length === 0,
    missed,
    operations: { definition: operationsDefinition, total, perHour: rate, unit: OPS_UNIT, busyWalletPerDay: busyDayOps },
    cycles: cycleSummary,
    growthPerUnitOps: growth,
    settledGrowthPerUnitOps: { from: 'the second half of the run', rssUnder200MbFor30BusyDays: rssSettledUnder200MbFor30BusyDays, byDaemon: settled },
    goal: { memoryLimitBytes: MEMORY_LIMIT_BYTES, rule: 'last sample + growth over 30 busy-wallet days (30 × the operations of BUSY_DAY) < limit (heap after GC, RSS); handles, fds, listeners: fitted rise over the run after warm-up < 1', met: goalMet, ...verdicts, ...atRunRate },
  }
  return { lines, json }
}
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
      options: { minutes, sampleSeconds, day: dayMode, scale: dayMode ? scale : null, daemonConfig },
      // The allocator's arena cap, when set: native memory (outside V8) depends on it.
      mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null,
      interrupted,
      error: setupError,
      durationMs: endedAt,
      warmupMs: warmup,
      workload: dayTargets
        ? {
            daemons: NAMES,
            churned: CHURNED,
            day: `targets ${JSON.stringify(dayTargets)}, each kind paced evenly over ${dayPaceMs / 60_000} min; the run ends when all are met or at the ${minutes}-min cap`,
            messages: 'direct messages between every pair of running daemons, one at each turn of the pace',
            channels: `alice->bob, bob->carol, carol->alice (dave restarts too often to finish a cycle): open 20,000 sat, ${DAY_CYCLE_PAYMENTS} payments of 1-7 sat at the pace, up to ${DAY_PAY_PIPELINE} in flight per channel, close, mine, again`,
            relayFlap: `SIGKILL at each turn of the pace, back on the same port and data dir after ${DAY_RELAY_DOWN_MS / 1000} s`,
            peerChurn: `dave stopped (SIGTERM) at each turn of the pace, back on the same port and data dir after ${DAY_PEER_DOWN_MS / 1000} s`,
            mining: 'one block every 15 s and after each close',
          }
        : {
        daemons: NAMES,
        churned: CHURNED,
        messages: 'one direct message from every running daemon to every other, every second',
        channels: 'alice->bob, bob->carol, carol->alice, dave->alice: open 20,000 sat, 100 payments of 1-7 sat, close, mine, again',
        relayFlap: 'SIGKILL every 60 s, back on the same port and data dir after 3 s',
        peerChurn: 'dave stopped (SIGTERM) every 90 s, back on the same port and data dir after 5 s',
        mining: 'one block every 15 s and after each close',
      },
      summary,
      day: dayReport?.json ?? null,
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
