// Engine-core figures (issue 2): start-to-/health with the relay down, relay recovery after
// outages of different lengths, heap over 1,000 start/stop cycles, idle CPU and RSS.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { HOST_ENTRIES, ROOT, firstLine, freePort, metricSum, runEntry, startDaemon, startDevnet, startRelay, tempDir, useBundledHosts, waitFor } from '../test/helpers/processes.js'
import { type BenchResult, round, summarise } from './types.js'

export interface EngineBenchOptions {
  quick?: boolean
}

/**
 * Start to /health 200 with the relay down, two ways: a first start (new data dir: keys made,
 * migrations run, no code cache yet) and a restart of the same data dir (what a person's app
 * does every day; the code cache the first start left is used). Each against Node starting
 * an empty module, measured between them in the same run.
 */
async function startToHealth(runs: number): Promise<BenchResult[]> {
  const relayDir = tempDir()
  const relayPort = await freePort()
  const relay = await startRelay(relayDir.path, relayPort)
  const deadRelay = relay.multiaddr
  await relay.kill()
  const firstStarts: number[] = []
  const restarts: number[] = []
  const baseline: number[] = []
  const emptyStart = async (): Promise<void> => {
    const b0 = performance.now()
    await runEntry('bench/fixtures/empty.mjs', []).exited
    baseline.push(performance.now() - b0)
  }
  const startOnce = async (dataDir: string, codeCacheDir: string): Promise<number> => {
    const apiPort = await freePort()
    const t0 = performance.now()
    const proc = runEntry(HOST_ENTRIES.daemon, ['--data-dir', dataDir, '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', String(apiPort), '--no-mdns', '--network', 'devnet', '--relay', deadRelay, '--log-level', 'warn'], { env: { BSV_P2P_CODE_CACHE_DIR: codeCacheDir } })
    await waitFor('health', async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${apiPort}/health`)
        return res.status === 200
      } catch {
        return false
      }
    }, 30_000, 5)
    const ms = performance.now() - t0
    await proc.kill()
    return ms
  }
  for (let i = 0; i < runs; i++) {
    const dir = tempDir()
    const cache = tempDir()
    await emptyStart()
    firstStarts.push(await startOnce(dir.path, cache.path))
    await emptyStart()
    restarts.push(await startOnce(dir.path, cache.path))
    dir.remove()
    cache.remove()
  }
  relayDir.remove()
  const base = summarise(baseline)
  const line = (name: string, times: number[], target: string): BenchResult => {
    const s = summarise(times)
    return { name, unit: 'ms', value: round(s.p50), p50: round(s.p50), max: round(s.max), samples: s.samples, baseline: round(base.p50), baselineName: 'node empty module start-to-exit', ratio: round(s.p50 / base.p50), target }
  }
  return [
    line('start to /health 200, relay down', firstStarts, 'audit: never (crash loop); seed waited 30 s'),
    line('restart to /health 200, relay down, same data dir', restarts, 'issue 19: <= 3x empty Node start'),
  ]
}

async function relayRecovery(outagesMs: number[]): Promise<BenchResult[]> {
  const relayDir = tempDir()
  const daemonDir = tempDir()
  const port = await freePort()
  let relay = await startRelay(relayDir.path, port)
  const devnet = await startDevnet()
  const daemon = await startDaemon(daemonDir.path, ['--relay', relay.multiaddr, '--chain-url', devnet.url, '--log-level', 'warn'])
  const reserved = async (): Promise<boolean> => (await daemon.health()).relay.state === 'reserved'
  await waitFor('first reservation', reserved, 30_000, 10)
  const recoveries: number[] = []
  const attemptsNow = async (): Promise<number> =>
    metricSum(await (await fetch(`${daemon.apiUrl}/metrics`)).text(), 'bsv_p2p_relay_reservation_attempts_total')
  let longAttempts = 0
  let longSeconds = 0
  for (const outage of outagesMs) {
    const before = await attemptsNow()
    const lostAt = performance.now()
    await relay.kill('SIGKILL')
    await waitFor('loss noticed', async () => !(await reserved()), 30_000, 10)
    await new Promise((r) => setTimeout(r, outage))
    relay = await startRelay(relayDir.path, port)
    // Clock starts when the relay is back and listening (it printed its address).
    recoveries.push(await waitFor('reservation back', reserved, 60_000, 10))
    if (outage >= 10_000) {
      longAttempts += (await attemptsNow()) - before
      longSeconds += (performance.now() - lostAt) / 1000
    }
  }
  const metrics = await (await fetch(`${daemon.apiUrl}/metrics`)).text()
  await daemon.kill()
  await relay.kill()
  await devnet.kill()
  relayDir.remove()
  daemonDir.remove()
  const s = summarise(recoveries)
  const attempts = metricSum(metrics, 'bsv_p2p_relay_reservation_attempts_total')
  const totalOutageS = outagesMs.reduce((a, b) => a + b, 0) / 1000
  return [
    { name: `relay recovery after outage (${outagesMs.length} outages, ${Math.min(...outagesMs)}-${Math.max(...outagesMs)} ms)`, unit: 'ms', value: round(s.p50), p50: round(s.p50), p95: round(s.p95), max: round(s.max), samples: s.samples, target: 'audit: < 10 s; issue: median < 2 s' },
    { name: 'relay dial attempts per second, all outages', unit: 'attempts/s', value: round(attempts / Math.max(1, totalOutageS)), note: `${attempts} attempts over ${round(totalOutageS, 1)} s of outage; short outages are dominated by the fast first retries` },
    { name: 'relay dial attempts per second, steady state (outages >= 10 s)', unit: 'attempts/s', value: round(longAttempts / Math.max(1, longSeconds)), target: 'about 1/s at most' },
  ]
}

async function startStopCycles(cycles: number): Promise<BenchResult[]> {
  const proc = runEntry('test/fixtures/engine-cycles.ts', ['--cycles', String(cycles), '--warmup', '50'], { nodeArgs: ['--expose-gc'] })
  const r = JSON.parse(await firstLine(proc, 900_000)) as { heapGrowthBytes: number; handleGrowth: number; msPerCycle: number }
  await proc.exited
  return [
    { name: `heap growth after GC over ${cycles} engine start/stop cycles (after 50 warm-up)`, unit: 'KiB', value: round(r.heapGrowthBytes / 1024, 1), target: 'audit: ~3 MB per restart leaked (listeners)' },
    { name: `active handle growth over ${cycles} cycles`, unit: 'handles', value: r.handleGrowth, target: '0' },
    { name: 'engine start+stop cycle', unit: 'ms', value: round(r.msPerCycle) },
  ]
}

function procStat(pid: number): { cpuTicks: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuTicks = Number(fields[11]) + Number(fields[12]) // utime + stime
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  return { cpuTicks, rssBytes: rssKb * 1024 }
}

async function idle(seconds: number): Promise<BenchResult[]> {
  const relayDir = tempDir()
  const daemonDir = tempDir()
  const relay = await startRelay(relayDir.path, await freePort())
  const devnet = await startDevnet()
  const daemon = await startDaemon(daemonDir.path, ['--relay', relay.multiaddr, '--chain-url', devnet.url, '--log-level', 'warn'])
  await waitFor('reservation', async () => (await daemon.health()).relay.state === 'reserved', 30_000)
  await new Promise((r) => setTimeout(r, 3000)) // let start-up work settle
  const pid = daemon.child.pid!
  const before = procStat(pid)
  const t0 = performance.now()
  const rss: number[] = []
  const until = Date.now() + seconds * 1000
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1000))
    rss.push(procStat(pid).rssBytes)
  }
  const after = procStat(pid)
  const wallS = (performance.now() - t0) / 1000
  const ticksPerS = 100 // Linux USER_HZ
  const cpuPct = ((after.cpuTicks - before.cpuTicks) / ticksPerS / wallS) * 100
  await daemon.kill()
  await relay.kill()
  await devnet.kill()
  relayDir.remove()
  daemonDir.remove()
  const s = summarise(rss)
  return [
    { name: `daemon idle CPU over ${seconds} s (relay reserved)`, unit: '%', value: round(cpuPct, 2), target: 'audit: < 5 %' },
    { name: `daemon idle RSS over ${seconds} s`, unit: 'MB', value: round(s.max / 1e6, 1), p50: round(s.p50 / 1e6, 1), max: round(s.max / 1e6, 1), target: 'audit: < 200 MB (seed: 135 MB)' },
  ]
}

export async function runEngineBench(opts: EngineBenchOptions = {}): Promise<BenchResult[]> {
  const quick = opts.quick ?? false
  // Measure what `npm run daemon` runs: the bundled hosts under plain Node.
  execFileSync(process.execPath, ['scripts/build-main.mjs', '--hosts'], { cwd: ROOT, stdio: 'ignore' })
  useBundledHosts()
  return [
    ...(await startToHealth(quick ? 3 : 7)),
    ...(await relayRecovery(quick ? [200, 1000, 3000] : [100, 250, 500, 1000, 1500, 2500, 4000, 6000, 10_000, 15_000, 30_000])),
    ...(await startStopCycles(quick ? 200 : 1000)),
    ...(await idle(quick ? 15 : 60)),
  ]
}
