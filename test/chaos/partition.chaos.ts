// Partition (issue #7): two daemon processes with an open channel on a devnet process,
// whose only path to each other is a pair of TCP proxies (each announces only its proxy's
// address, no relay, no mDNS). The payer pays continuously from several callers; the
// proxies are cut (every piped socket destroyed, new ones refused) mid-payment, kept cut
// for a while, and healed, several times: some cuts shorter than the payment timeout
// (the payments in flight wait and complete), some longer (they fail with a typed error).
// Afterwards the channel reconciles: both sides agree, every payment acknowledged to the
// payer is stored by the payee with the same amount, payments work again after each heal,
// and a cooperative close settles exactly the agreed amount on chain.
// CHAOS_SEED=<seed> replays the same cut lengths.
import { describe, expect, it } from 'vitest'
import { type DaemonProc, freePort, tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import { scenarioSetup } from './support/scenario.js'
import { recordSummary } from './support/results.js'
import { type ChannelView, devnetDaemon, fundWallet, ok, txOutputs } from '../helpers/devnet-daemons.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'
import { TcpProxy } from './support/tcp-proxy.js'
import { PaymentTraffic, failureCounts } from './support/traffic.js'

/** The engine's payment timeout (channels payTimeoutMs default): a cut longer than this fails the payments in flight. */
const PAY_TIMEOUT_MS = 30_000
/** Cut lengths: 'short' cuts end before a payment times out, 'long' ones after. */
const CUTS = scaled<('short' | 'long')[]>({ short: ['short', 'long'], full: ['short', 'long', 'short', 'short', 'long', 'short', 'long', 'short'] })
const SHORT_CUT_MS = [1_000, 8_000]
const LONG_CUT_MS = [PAY_TIMEOUT_MS + 4_000, PAY_TIMEOUT_MS + 10_000]
/** Acknowledged payments between cuts, so every cut lands mid-traffic. */
const PAYMENTS_BETWEEN = scaled({ short: 20, full: 100 })
const WORKERS = 4
const CAPACITY = 1_000_000
/** Failures may still arrive this long after a heal (a call that started during the cut). */
const FAILURE_SLACK_MS = 10_000
const ALLOWED_FAILURES = ['timeout', 'unavailable']

const { devnet: scenarioDevnet, cleanups } = scenarioSetup()

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('partition', () => {
  it(`two nodes cut apart mid-payment ${CUTS.length} times and healed: the channel reconciles`, async () => {
    const devnet = scenarioDevnet()
    const seed = chaosSeed()
    const rng = prng(seed)
    process.stdout.write(`partition: CHAOS_SEED=${seed}\n`)
    const started = Date.now()
    const dirs = { a: tempDir(), b: tempDir() }
    cleanups.push(dirs.a.remove, dirs.b.remove)

    // The proxies first (their ports go into the announcements), then the daemons behind them.
    const ports = { a: await freePort(), b: await freePort() }
    const proxies = { a: new TcpProxy(ports.a), b: new TcpProxy(ports.b) }
    const proxyPorts = { a: await proxies.a.listen(), b: await proxies.b.listen() }
    cleanups.push(() => proxies.a.close(), () => proxies.b.close())
    const start = (side: 'a' | 'b'): Promise<DaemonProc> =>
      devnetDaemon(devnet, dirs[side].path, ['--p2p-port', String(ports[side])], { p2p: { announce: [`/ip4/127.0.0.1/tcp/${proxyPorts[side]}`] } })
    const a = await start('a')
    const b = await start('b')
    cleanups.push(() => a.kill('SIGKILL'), () => b.kill('SIGKILL'))
    const cutAll = (): void => {
      proxies.a.cut()
      proxies.b.cut()
    }
    const healAll = (): void => {
      proxies.a.heal()
      proxies.b.heal()
    }

    await fundWallet(devnet, a, CAPACITY * 2)
    const connected = await ok<{ peerId: string; connection: string }>(a, 'connectPeer', { multiaddr: `/ip4/127.0.0.1/tcp/${proxyPorts.b}/p2p/${b.peerId}` })
    expect(connected).toEqual({ peerId: b.peerId, connection: 'direct' })
    expect(proxies.b.stats.accepted).toBeGreaterThan(0)
    const { id: channelId } = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })

    const payments = new PaymentTraffic(() => a, channelId)
    let stopping = false
    const traffic = payments.run({ stop: () => stopping, workers: WORKERS, pauseMs: 20, maxCallsPerWorker: 100_000 })

    const cuts: { kind: string; cutMs: number; inFlightAtCut: number; failedDuring: number; recoverMs: number; cutAt: number; healAt: number }[] = []
    for (const kind of CUTS) {
      const before = payments.acked.length
      await waitFor(`${PAYMENTS_BETWEEN} payments before cut ${cuts.length + 1}`, () => payments.acked.length >= before + PAYMENTS_BETWEEN, 90_000, 10)
      const [lo, hi] = kind === 'short' ? SHORT_CUT_MS : LONG_CUT_MS
      const cutMs = rng.between(lo!, hi!)
      await waitFor('a payment in flight', () => payments.inFlight > 0, 10_000, 1)
      const inFlightAtCut = payments.inFlight
      const failuresBefore = payments.failures.length
      const cutAt = Date.now()
      cutAll()
      await sleep(cutMs)
      // Nothing gets through a cut: no payment is acknowledged once the calls in flight at the cut had their chance.
      healAll()
      const healAt = Date.now()
      const recoverMs = await waitFor(`a payment acknowledged after heal ${cuts.length + 1}`, () => payments.acked.some((p) => p.at > healAt), 60_000, 20)
      cuts.push({ kind, cutMs, inFlightAtCut, failedDuring: payments.failures.length - failuresBefore, recoverMs, cutAt, healAt })
      expect({ aExit: a.child.exitCode, bExit: b.child.exitCode }).toEqual({ aExit: null, bExit: null })
    }
    stopping = true
    await traffic

    let aView: ChannelView | null = null
    let bView: ChannelView | null = null
    await waitFor('A and B agree on the channel', async () => {
      aView = await ok<ChannelView>(a, 'getChannel', { channelId })
      bView = await ok<ChannelView>(b, 'getChannel', { channelId })
      return aView.seq === bView.seq && aView.paidSats === bView.paidSats
    }, 60_000, 200)
    const missing = payments.missingAt(dirs.b.path)
    const maxAcked = payments.maxAcked!
    // A failure belongs to a cut when it came between the cut and shortly after its heal.
    const inCut = (at: number): boolean => cuts.some((c) => at >= c.cutAt && at <= c.healAt + FAILURE_SLACK_MS)
    const strayFailures = payments.failures.filter((f) => !inCut(f.at))
    const untyped = payments.failures.filter((f) => !ALLOWED_FAILURES.includes(f.code))
    // No payment was acknowledged in the middle of a cut (after the calls in flight at the cut could finish).
    const ackedWhileCut = payments.acked.filter((p) => cuts.some((c) => p.at > c.cutAt + 2_000 && p.at < c.healAt)).length

    const closed = await ok<ChannelView>(a, 'closeChannel', { channelId })
    const outputs = await txOutputs(devnet, closed.settlementTxid!)

    const summary = {
      scenario: 'partition',
      seed,
      seconds: Math.round((Date.now() - started) / 1000),
      cuts: cuts.map(({ kind, cutMs, inFlightAtCut, failedDuring, recoverMs }) => ({ kind, cutMs, inFlightAtCut, failedDuring, recoverMs })),
      paymentsAcked: payments.acked.length,
      paymentsFailed: failureCounts(payments.outcomes),
      ackedSats: payments.ackedSats,
      ackedWhileCut,
      strayFailures: strayFailures.length,
      finalSeq: bView!.seq,
      finalPaidSats: bView!.paidSats,
      missingPayments: missing.length,
      proxy: { a: proxies.a.stats, b: proxies.b.stats },
      settlementOutputs: outputs,
    }
    recordSummary(summary)

    expect(missing).toEqual([])
    expect(bView!.seq).toBeGreaterThanOrEqual(maxAcked.seq)
    expect(bView!.paidSats).toBeGreaterThanOrEqual(maxAcked.paidSats)
    expect(bView!.paidSats).toBeGreaterThanOrEqual(payments.ackedSats)
    expect(untyped).toEqual([])
    expect(strayFailures).toEqual([])
    expect(ackedWhileCut).toBe(0)
    // Cuts landed mid-payment, and the long ones failed the payments they caught, with a typed error.
    expect(cuts.every((c) => c.inFlightAtCut > 0)).toBe(true)
    for (const c of cuts.filter((x) => x.kind === 'long')) expect(c.failedDuring).toBeGreaterThan(0)
    expect(closed.settlementTxid).toMatch(/^[0-9a-f]{64}$/)
    expect(outputs).toEqual([bView!.paidSats, CAPACITY - bView!.paidSats - closed.settlementFeeSats])

    expect(await a.kill('SIGTERM')).toBe(0)
    expect(await b.kill('SIGTERM')).toBe(0)
  })
})
