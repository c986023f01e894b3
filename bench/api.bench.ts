// The daemon's HTTP API, its own cost (issue 22): `pay` and `sendMessage` through HTTP
// against the same calls made in-process on the same daemon, same run; what an
// idempotency key adds; and 1,000 callers at once, each on its own connection. Two
// daemons in this one process (they share the cores) and an in-process devnet.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { DevnetServer } from '../main/chain/devnet/devnet-server.js'
import { validateConfig } from '../main/config/index.js'
import { Daemon } from '../main/daemon/daemon.js'
import { tempDir } from '../test/helpers/processes.js'
import { type BenchResult, round, summarise } from './types.js'

async function timed(count: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await call(i)
    lat.push(performance.now() - t0)
  }
  return lat
}

/** One POST on its own connection, as a caller without a shared client makes it. */
function postAlone(url: string, token: string, method: string, params: unknown, key: string): Promise<number> {
  const body = JSON.stringify(params)
  const u = new URL(`/api/${method}`, url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Idempotency-Key': key } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export async function runApiBench(opts: { quick?: boolean } = {}): Promise<BenchResult[]> {
  const sequential = opts.quick ? 300 : 2000
  const callers = 1000
  const devnet = new DevnetServer({ host: '127.0.0.1', minFeeRateSatsPerKb: 50 })
  await devnet.start()
  const dirs = [tempDir('bench-api-'), tempDir('bench-api-')]
  const daemons = dirs.map(
    (d) =>
      new Daemon(
        validateConfig({ dataDir: d.path, network: 'devnet', chainUrl: devnet.url, logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false }, api: { port: 0 }, wallet: { syncIntervalMs: 60_000 } }),
        { walletScryptLogN: 10 },
      ),
  )
  const results: BenchResult[] = []
  let cleanupAgent = (): void => {}
  try {
    for (const d of daemons) await d.start()
    const [a, b] = daemons as [Daemon, Daemon]
    const token = readFileSync(`${dirs[0]!.path}/api-token`, 'utf8').trim()
    const handlers = a.host.handlers
    // A keep-alive client with little cost of its own (fetch adds about 1 ms a call here), so
    // the difference to in-process is the API's: parse, auth, validate, answer.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const http = (method: string, params: unknown, key?: string): Promise<unknown> => {
      const body = JSON.stringify(params)
      return new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: a.api.port, path: `/api/${method}`, method: 'POST', agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...(key ? { 'Idempotency-Key': key } : {}) } },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { ok: boolean; result?: unknown; error?: unknown }
              if (answer.ok) resolve(answer.result)
              else reject(new Error(`${method}: ${JSON.stringify(answer.error)}`))
            })
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    }
    cleanupAgent = () => agent.destroy()
    const bAddr = b.engine.p2p.libp2p.getMultiaddrs().find((m) => m.toString().includes('/tcp/'))!.toString()
    await handlers.connectPeer({ multiaddr: bAddr })
    await devnet.faucet(a.engine.wallet.info().address, 20_000_000)
    await a.engine.wallet.sync()
    const channel = await handlers.openChannel({ peerId: b.engine.p2p.peerId, capacitySats: 10_000_000 })
    for (let i = 0; i < 100; i++) await handlers.pay({ channelId: channel.id, sats: 1 })

    const row = (name: string, lat: number[], baseline?: { name: string; mean: number }): BenchResult => {
      const s = summarise(lat)
      return {
        name, unit: 'ms', value: round(s.mean, 3), p50: round(s.p50, 3), p95: round(s.p95, 3), p99: round(s.p99, 3), max: round(s.max, 3), samples: s.samples,
        ...(baseline ? { baseline: round(baseline.mean, 3), baselineName: baseline.name, ratio: round(s.mean / baseline.mean) } : {}),
      }
    }
    const mean = (lat: number[]): number => summarise(lat).mean

    const healthIn = await timed(sequential, () => handlers.getHealth({}))
    const healthHttp = await timed(sequential, () => http('getHealth', {}))
    results.push(row('getHealth over HTTP, keep-alive: the API floor per call', healthHttp, { name: 'getHealth in-process', mean: mean(healthIn) }))

    const payIn = await timed(sequential, () => handlers.pay({ channelId: channel.id, sats: 1 }))
    const payHttp = await timed(sequential, () => http('pay', { channelId: channel.id, sats: 1 }))
    const run = Date.now().toString(36)
    const payKeyed = await timed(sequential, (i) => http('pay', { channelId: channel.id, sats: 1 }, `bench-${run}-pay-${i}`))
    results.push(row('pay, in-process (sequential)', payIn))
    results.push(row('pay over HTTP, keep-alive (sequential)', payHttp, { name: 'pay in-process', mean: mean(payIn) }))
    results.push(row('pay over HTTP with an Idempotency-Key (sequential)', payKeyed, { name: 'pay over HTTP without key', mean: mean(payHttp) }))

    const peerId = b.engine.p2p.peerId
    const msgIn = await timed(sequential, (i) => handlers.sendMessage({ peerId, text: `in ${i}` }))
    const msgHttp = await timed(sequential, (i) => http('sendMessage', { peerId, text: `http ${i}` }))
    results.push(row('sendMessage, in-process (sequential)', msgIn))
    results.push(row('sendMessage over HTTP, keep-alive (sequential)', msgHttp, { name: 'sendMessage in-process', mean: mean(msgIn) }))

    // 1,000 callers at once, each a keyed pay on its own connection, default API limits.
    const statuses = new Map<number, number>()
    const callLat: number[] = []
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: callers }, async (_, i) => {
        const c0 = performance.now()
        const status = await postAlone(a.api.url, token, 'pay', { channelId: channel.id, sats: 1 }, `bench-${run}-crowd-${i}`).catch(() => -1)
        callLat.push(performance.now() - c0)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }),
    )
    const seconds = (performance.now() - t0) / 1000
    const s = summarise(callLat)
    results.push({
      name: `${callers} callers at once, keyed pay, each on its own connection (default limits 256 + 1,024 waiting)`, unit: 'ms', value: round(s.mean, 1), p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1), max: round(s.max, 1), samples: s.samples,
      baseline: round(mean(payHttp) * callers, 1), baselineName: `${callers} keep-alive calls one after another`, ratio: round((seconds * 1000) / (mean(payHttp) * callers)),
      note: `all answered in ${round(seconds, 2)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))} (-1: no answer)`, target: 'every caller answered (200 or 503), none reset',
    })
  } finally {
    cleanupAgent()
    for (const d of daemons) await d.stop().catch(() => {})
    await devnet.stop()
    for (const d of dirs) d.remove()
  }
  return results
}
