// Many channels at once (issue 19): one node (its own process, so its RSS is its own)
// holds 1,000 open channels with 50 peers (5 processes of 10 channel engines, each its own
// libp2p node and SQLite file), pays on half of them and is paid on the other half, all
// at once, against an in-process devnet. Two phases: the issue's load offered evenly
// (5 payments/s on each channel: 5,000/s in all) for latency, then every channel paying as
// fast as its answers come (saturation) for the most it carries. Fairness is the spread of
// payments completed per channel: a starved channel shows up as a low minimum.
import { readFileSync } from 'node:fs'
import { type DevnetServer } from '../main/chain/devnet/devnet-server.js'
import { startDevnet } from '../main/channels/test/harness.js'
import { type Proc, firstLine, runEntry } from '../test/helpers/processes.js'
import { type BenchResult, round, summarise } from './types.js'

interface Sizes {
  peerProcesses: number
  peersPerProcess: number
  /** Channels the node under test opens to each peer, and each peer opens to it. */
  channelsPerPeer: number
  rateMs: number
  saturationMs: number
}

const FULL: Sizes = { peerProcesses: 5, peersPerProcess: 10, channelsPerPeer: 10, rateMs: 20_000, saturationMs: 15_000 }
const QUICK: Sizes = { peerProcesses: 2, peersPerProcess: 5, channelsPerPeer: 10, rateMs: 6_000, saturationMs: 5_000 }
/** The issue's goal: 5,000 payments/s in all, spread evenly over the channels. */
const TARGET_RATE = 5_000
const CAPACITY_SATS = 200_000
/**
 * Payments one channel may have unanswered in the offered-load phase ("lightly pipelined"
 * callers): beyond it a due payment is skipped and counted, so an overloaded node shows as
 * skips and latency rather than as an unbounded queue.
 */
const RATE_MAX_IN_FLIGHT = 4
/** Concurrent opens of the node under test (each needs a coin of its own while its funding is built). */
const HUB_OPEN_CONCURRENCY = 25

interface Node {
  proc: Proc
  control: string
  sides: { peerId: string; addr: string; address: string }[]
}

interface RunReport {
  elapsedMs: number
  latencies: number[]
  perChannel: number[]
  failures: number
  skipped: number
  stopped: number
  disconnects: number
  errors: Record<string, number>
  loopDelayP99Ms: number
  loopDelayMaxMs: number
}

interface Memory { rss: number; heapUsed: number; external: number; arrayBuffers: number; disconnects: number }

async function call<T>(node: Node, path: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${node.control}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(240_000) })
  const out = (await res.json()) as T & { error?: string }
  if (!res.ok) throw new Error(`${path} failed: ${out.error ?? res.status}`)
  return out
}

async function startNode(devnet: DevnetServer, count: number): Promise<Node> {
  // --expose-gc: memory is read after a collection, so it counts what is held, not garbage.
  const proc = runEntry('bench/fixtures/many-channels-node.ts', ['--devnet', devnet.url, '--count', String(count)], { nodeArgs: ['--expose-gc'] })
  try {
    const { control } = JSON.parse(await firstLine(proc, 120_000)) as { control: string }
    const node: Node = { proc, control, sides: [] }
    node.sides = (await call<{ sides: Node['sides'] }>(node, '/info')).sides
    return node
  } catch (err) {
    await proc.kill('SIGKILL')
    throw err
  }
}

/** VmRSS and VmHWM (peak) of a process, from the kernel, in bytes. */
function procMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? Number.NaN) * 1024
  return { rss: kb('VmRSS:'), peak: kb('VmHWM:') }
}

const mb = (bytes: number): number => round(bytes / 1024 / 1024, 1)

function fairness(counts: readonly number[]): { min: number; p1: number; median: number; max: number; minRatio: number; p1Ratio: number; zero: number } {
  const s = summarise(counts)
  const sorted = [...counts].sort((a, b) => a - b)
  const p1 = sorted[Math.max(0, Math.ceil(0.01 * sorted.length) - 1)] ?? 0
  const min = sorted[0] ?? 0
  return { min, p1, median: s.p50, max: s.max, minRatio: round(min / Math.max(1, s.p50), 3), p1Ratio: round(p1 / Math.max(1, s.p50), 3), zero: sorted.filter((c) => c === 0).length }
}

/** Every node's channels pay at once; the figures of the phase. */
async function phase(hub: Node, peers: Node[], body: { mode: 'rate' | 'closed'; durationMs: number; perChannelPerSec: number; maxInFlight: number }) {
  const startAt = Date.now() + 500
  let peakRss = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, procMemory(hub.proc.child.pid!).rss)
  }, 250)
  let reports: RunReport[]
  try {
    reports = await Promise.all([hub, ...peers].map((n) => call<RunReport>(n, '/run', { ...body, startAt })))
  } finally {
    clearInterval(sampler)
  }
  const [own, ...theirs] = reports
  const latencies = reports.flatMap((r) => r.latencies)
  const completed = latencies.length
  const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs))
  const errors: Record<string, number> = {}
  for (const r of reports) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  return {
    rate: completed / (elapsedMs / 1000),
    lat: summarise(latencies),
    all: fairness(reports.flatMap((r) => r.perChannel)),
    paying: fairness(own!.perChannel),
    paid: fairness(theirs.flatMap((r) => r.perChannel)),
    failures: reports.reduce((s, r) => s + r.failures, 0),
    skipped: reports.reduce((s, r) => s + r.skipped, 0),
    stopped: reports.reduce((s, r) => s + r.stopped, 0),
    disconnects: reports.reduce((s, r) => s + r.disconnects, 0),
    errors,
    hubLoopDelayP99Ms: round(own!.loopDelayP99Ms, 1),
    hubLoopDelayMaxMs: round(own!.loopDelayMaxMs, 1),
    peakRss,
    completed,
  }
}

type PhaseFigures = Awaited<ReturnType<typeof phase>>

function phaseResults(label: string, f: PhaseFigures, channels: number, target?: { rate?: string; latency?: string }): BenchResult[] {
  const spread = (name: string, x: ReturnType<typeof fairness>): string => `${name} min ${x.min}, p1 ${x.p1}, median ${x.median}, max ${x.max}`
  const note = `${f.failures} failed, ${f.skipped} skipped (channel at its in-flight cap), ${f.stopped} channels stopped, ${f.disconnects} peer connections closed; node under test: event-loop delay p99 ${f.hubLoopDelayP99Ms} ms, max ${f.hubLoopDelayMaxMs} ms, peak RSS ${mb(f.peakRss)} MB${Object.keys(f.errors).length > 0 ? `; errors: ${JSON.stringify(f.errors).slice(0, 400)}` : ''}`
  return [
    { name: `${label}: payments/s in all over ${channels} channels`, unit: 'payments/s', value: round(f.rate, 0), samples: f.completed, target: target?.rate, note },
    { name: `${label}: payment latency (pay called to acknowledged)`, unit: 'ms', value: round(f.lat.p50, 2), p50: round(f.lat.p50, 2), p95: round(f.lat.p95, 2), p99: round(f.lat.p99, 2), max: round(f.lat.max, 2), samples: f.lat.samples, target: target?.latency },
    {
      name: `${label}: fairness, least-served channel's payments / median channel's`, unit: 'ratio', value: f.all.minRatio, baseline: f.all.p1Ratio, baselineName: 'p1 / median',
      note: `${spread('all channels', f.all)}; ${f.all.zero} with none; ${spread('node paying', f.paying)}; ${spread('node paid', f.paid)}`,
      target: 'no starved channel: min / median >= 0.5',
    },
  ]
}

export async function runManyChannelsBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const sizes = opts.quick ? QUICK : FULL
  const peerCount = sizes.peerProcesses * sizes.peersPerProcess
  const perDirection = peerCount * sizes.channelsPerPeer
  const channels = 2 * perDirection
  const devnet = await startDevnet()
  const nodes: Node[] = []
  const results: BenchResult[] = []
  try {
    const started = await Promise.all([startNode(devnet, 1), ...Array.from({ length: sizes.peerProcesses }, () => startNode(devnet, sizes.peersPerProcess))])
    nodes.push(...started)
    const [hub, ...peers] = started as [Node, ...Node[]]
    const hubSide = hub.sides[0]!
    const peerIds = peers.flatMap((p) => p.sides.map((s) => s.peerId))

    // Coins: the node under test one per concurrent open (each carries its share of the
    // channels and comes back as change); each peer one for its own channels.
    const perCoin = Math.ceil(perDirection / HUB_OPEN_CONCURRENCY) * (CAPACITY_SATS + 1_000) + 10_000
    for (let i = 0; i < HUB_OPEN_CONCURRENCY; i++) await devnet.faucet(hubSide.address, perCoin)
    for (const p of peers) for (const s of p.sides) await devnet.faucet(s.address, sizes.channelsPerPeer * (CAPACITY_SATS + 1_000) + 10_000)
    devnet.mine(1)
    await Promise.all(nodes.map((n) => call(n, '/sync')))
    await Promise.all(peers.map((p) => call(p, '/connect', { addr: hubSide.addr })))

    const before = await call<Memory>(hub, '/memory')
    const beforeProc = procMemory(hub.proc.child.pid!)
    const t0 = performance.now()
    const opened = await Promise.all([
      call<{ opened: number; failed: number; errors: string[] }>(hub, '/open', { to: peerIds, perTarget: sizes.channelsPerPeer, capacitySats: CAPACITY_SATS, concurrency: HUB_OPEN_CONCURRENCY }),
      ...peers.map((p) => call<{ opened: number; failed: number; errors: string[] }>(p, '/open', { to: [hubSide.peerId], perTarget: sizes.channelsPerPeer, capacitySats: CAPACITY_SATS, concurrency: 1 })),
    ])
    const openMs = performance.now() - t0
    const openedCount = opened.reduce((s, o) => s + o.opened, 0)
    if (openedCount !== channels) throw new Error(`${openedCount} of ${channels} channels opened; ${JSON.stringify(opened.flatMap((o) => o.errors)).slice(0, 1000)}`)
    devnet.mine(1)
    results.push({ name: `open ${channels} channels with ${peerCount} peers (all at once, devnet, 0 conf)`, unit: 'channels/s', value: round(channels / (openMs / 1000), 1), samples: channels, note: `${round(openMs / 1000, 1)} s in all` })

    // Every channel's first payments build its caches (settlement sighasher, pipeline).
    await Promise.all(nodes.map((n) => call(n, '/warm', { payments: 3 })))
    const afterOpen = await call<Memory>(hub, '/memory')
    const afterOpenProc = procMemory(hub.proc.child.pid!)
    const perChannelKb = (afterOpenProc.rss - beforeProc.rss) / channels / 1024
    results.push({
      name: `node under test: RSS per open channel (RSS after opening ${channels} and paying on each, minus before)`, unit: 'KB', value: round(perChannelKb, 1),
      baseline: round((afterOpen.heapUsed - before.heapUsed) / channels / 1024, 1), baselineName: 'JS heap per channel (after GC)',
      note: `RSS ${mb(beforeProc.rss)} MB before, ${mb(afterOpenProc.rss)} MB after; heap ${mb(before.heapUsed)} -> ${mb(afterOpen.heapUsed)} MB (under tsx: the loader's own memory is in both); peer connections closed while opening and warming: ${afterOpen.disconnects}`,
    })

    const perChannelPerSec = TARGET_RATE / channels
    const offered = await phase(hub, peers, { mode: 'rate', durationMs: sizes.rateMs, perChannelPerSec, maxInFlight: RATE_MAX_IN_FLIGHT })
    results.push(...phaseResults(`offered ${TARGET_RATE}/s (${round(perChannelPerSec, 1)}/s on each of ${channels} channels)`, offered, channels, { rate: '>= 5,000/s', latency: 'p99 <= 25 ms' }))

    const saturated = await phase(hub, peers, { mode: 'closed', durationMs: sizes.saturationMs, perChannelPerSec: 0, maxInFlight: 1 })
    results.push(...phaseResults('saturation (each channel pays as fast as it is answered)', saturated, channels, { rate: '>= 5,000/s' }))

    const end = await call<Memory>(hub, '/memory')
    const endProc = procMemory(hub.proc.child.pid!)
    results.push({
      name: 'node under test: RSS at the end (peak in brackets of the note)', unit: 'MB', value: mb(endProc.rss), baseline: mb(beforeProc.rss), baselineName: 'RSS before opening',
      note: `peak (VmHWM) ${mb(endProc.peak)} MB; heap ${mb(end.heapUsed)} MB after GC; ${channels} channels, ${offered.completed + saturated.completed} payments measured`, target: '<= 300 MB',
    })
  } finally {
    // SIGTERM: each node stops its engines and removes its data dirs; one that hangs is killed.
    await Promise.all(nodes.map(async (n) => {
      const timer = setTimeout(() => n.proc.child.kill('SIGKILL'), 20_000)
      await n.proc.kill()
      clearTimeout(timer)
    }))
    await devnet.stop()
  }
  return results
}
