// The chain watch when the action that protects the payee's money fails: a settlement
// before expiry that the chain service will not take. It must show (problem, health
// reason, metric, warning), retry, and clear once it goes through.
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { assessHealth } from '../engine/health.js'
import { type Side, connect, fund, removeDir, startDevnet, startSide, waitUntil } from './test/harness.js'

/** In front of the devnet: passes everything, except that broadcasts fail with a 500 while `failing`. */
class FlakyChain {
  failing = false
  broadcastsRefused = 0
  private server: Server | null = null
  constructor(private readonly target: string) {}
  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`
  }
  async start(): Promise<void> {
    this.server = createServer((req, res) => this.forward(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }
  private forward(req: IncomingMessage, res: ServerResponse): void {
    if (this.failing && req.method === 'POST') {
      this.broadcastsRefused++
      req.resume()
      res.writeHead(500).end('the service is having a bad day')
      return
    }
    const target = new URL(req.url ?? '/', this.target)
    const out = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => res.writeHead(502).end())
    req.pipe(out)
  }
}

/**
 * A devnet, a funded payer, and a payee that reaches the chain through a FlakyChain, its
 * watch polling only when a test asks; filled in before the block's tests, stopped after.
 */
function useFlakyPair(retryMs: number): { devnet: DevnetServer; flaky: FlakyChain; payer: Side; payee: Side } {
  const pair = {} as { devnet: DevnetServer; flaky: FlakyChain; payer: Side; payee: Side }
  beforeAll(async () => {
    pair.devnet = await startDevnet()
    pair.flaky = new FlakyChain(pair.devnet.url)
    await pair.flaky.start()
    pair.payer = await startSide(pair.devnet)
    pair.payee = await startSide({ url: pair.flaky.url }, { init: { chainPollMs: 3_600_000, chainRetryBaseMs: retryMs, chainRetryMaxMs: retryMs } })
    await connect(pair.payer, pair.payee)
    await fund(pair.devnet, pair.payer, 500_000)
  }, 30_000)
  afterAll(async () => {
    for (const s of [pair.payer, pair.payee]) {
      await s?.stop()
      if (s) removeDir(s.dir)
    }
    await pair.flaky?.stop()
    await pair.devnet?.stop()
  })
  return pair
}

describe('chain watch: a settlement that keeps failing before expiry', () => {
  const pair = useFlakyPair(0)

  it('is a problem, a health reason and a metric while it fails, retried each round, and clears once it goes through', async () => {
    const { devnet, flaky, payer, payee } = pair
    const expiry = devnet.height + 10
    const { id } = await payer.engine.open({ peerId: payee.peerId, capacitySats: 40_000, expiry })
    await payer.engine.pay({ channelId: id, sats: 1234 })
    flaky.failing = true
    devnet.mine(expiry - 6 - devnet.height)
    await payee.engine.checkChain()
    expect(flaky.broadcastsRefused).toBe(1)
    const problem = payee.engine.get(id).problem
    expect(problem).toMatchObject({ code: 'settle-failing' })
    expect(problem!.message).toMatch(/settling before expiry failed 1 time/)
    const health = assessHealth({ running: true, relay: { state: 'disabled', relays: [] }, channelProblems: payee.engine.problems() })
    expect(health.status).toBe('degraded')
    expect(health.reasons.join(' ')).toMatch(/settling before expiry failed/)
    const failures = async (): Promise<number> => {
      const m = (await payee.engine.components.metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'bsv_p2p_channel_chain_action_failures_total')
      return Number(m?.values.find((v) => v.labels.action === 'settle')?.value ?? 0)
    }
    expect(await failures()).toBe(1)
    // Each round tries again, and the problem says how often it failed.
    await payee.engine.checkChain()
    expect(flaky.broadcastsRefused).toBe(2)
    expect(payee.engine.get(id).problem!.message).toMatch(/failed 2 times/)
    // No payment is taken any more so close to expiry.
    await expect(payer.engine.pay({ channelId: id, sats: 1 })).rejects.toMatchObject({ code: 'invalid_state' })

    flaky.failing = false
    await payee.engine.checkChain()
    expect(payee.engine.get(id)).toMatchObject({ state: 'closing', problem: null })
    expect(payee.engine.problems()).toEqual([])
    devnet.mine(1)
    await waitUntil(async () => {
      await payee.engine.checkChain()
      return payee.engine.get(id).state === 'closed'
    }, 10_000, 'closed')
    expect(payee.engine.get(id)).toMatchObject({ paidSats: 1234, seq: 1 })
  }, 60_000)
})

describe('chain watch: a wall clock set back while a settlement waits to be tried again', () => {
  const pair = useFlakyPair(200)
  afterEach(() => {
    vi.useRealTimers()
  })

  it('is tried again after its delay, not after the delay plus the hour the clock went back', async () => {
    const { devnet, flaky, payer, payee } = pair
    const expiry = devnet.height + 10
    const { id } = await payer.engine.open({ peerId: payee.peerId, capacitySats: 40_000, expiry })
    await payer.engine.pay({ channelId: id, sats: 777 })
    flaky.failing = true
    devnet.mine(expiry - 6 - devnet.height)
    await payee.engine.checkChain()
    expect(flaky.broadcastsRefused).toBe(1)

    // Only Date moves: timers and performance.now() keep real time.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() - 3_600_000)
    flaky.failing = false
    await new Promise((r) => setTimeout(r, 400))
    await payee.engine.checkChain()
    expect(payee.engine.get(id)).toMatchObject({ state: 'closing', problem: null })
  }, 60_000)
})
