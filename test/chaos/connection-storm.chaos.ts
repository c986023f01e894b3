// Connection storm (issue #7): 1,000 inbound connection attempts in a burst against a
// daemon process's libp2p TCP port: raw sockets that close at once, send garbage, or start
// a multistream or noise handshake and stall, and real libp2p dials from throwaway
// identities that complete the upgrade and hold on. The daemon runs with a small cap
// (limits.maxConnections = 50) and the per-host inbound rate limit opened wide, since every
// attacker here shares 127.0.0.1 (in the world they come from many hosts), so it is the
// cap itself that is tested. Meanwhile an honest peer B, connected before the storm, sends
// direct messages to A and A pays B through a channel. Asserted: A's open connections,
// sampled every 100 ms, never exceed the cap; A stays up; the honest traffic succeeds
// during and after the storm and nothing acknowledged is missing.
// CHAOS_SEED=<seed> replays the same mix of attempts.
import type { Libp2p } from 'libp2p'
import { describe, expect, it } from 'vitest'
import { tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import { scenarioSetup } from './support/scenario.js'
import { recordSummary } from './support/results.js'
import { connectionStorm, dialers, errorCodes, type StormResult } from './support/connection-storm.js'
import { type ChannelView, devnetDaemon, directAddr, fundWallet, ok } from '../helpers/devnet-daemons.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'
import { MessageTraffic, PaymentTraffic, failureCounts } from './support/traffic.js'

const CAP = 50
const ATTEMPTS = 1_000
/** Bursts of ATTEMPTS each, one after another. */
const BURSTS = scaled({ short: 1, full: 3 })
/** Of each burst, real libp2p dials (each from its own identity): well above the cap. */
const LIBP2P_DIALS = scaled({ short: 150, full: 250 })
const CONCURRENCY = 150
/**
 * How long an attempt holds its socket or connection at most. The full profile holds
 * longer than libp2p's inbound upgrade timeout (10 s), so A itself closes stalled handshakes;
 * the short one lets go sooner to stay within a minute.
 */
const HOLD_MS = scaled({ short: 4_000, full: 12_000 })
const SAMPLE_EVERY_MS = 100
const AFTER_MS = scaled({ short: 5_000, full: 20_000 })
const CAPACITY = 1_000_000

const { devnet: scenarioDevnet, cleanups } = scenarioSetup()

describe('connection storm', () => {
  it(`${BURSTS} × ${ATTEMPTS} inbound attempts in a burst: connections stay within the cap, honest traffic continues`, async () => {
    const devnet = scenarioDevnet()
    const seed = chaosSeed()
    const rng = prng(seed)
    process.stdout.write(`connection-storm: CHAOS_SEED=${seed}\n`)
    const started = Date.now()
    const dirs = { a: tempDir(), b: tempDir() }
    cleanups.push(dirs.a.remove, dirs.b.remove)
    const a = await devnetDaemon(devnet, dirs.a.path, [], { limits: { maxConnections: CAP, inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 100 } })
    const b = await devnetDaemon(devnet, dirs.b.path)
    cleanups.push(() => a.kill('SIGKILL'), () => b.kill('SIGKILL'))
    const aAddr = await directAddr(a)
    const aPort = Number(/\/tcp\/(\d+)\//.exec(aAddr)![1])

    await fundWallet(devnet, a, CAPACITY * 2)
    await ok(b, 'connectPeer', { multiaddr: aAddr })
    const { id: channelId } = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })

    const messages = new MessageTraffic(() => b, () => a, 'storm')
    const payments = new PaymentTraffic(() => a, channelId)
    let stopping = false
    const traffic = Promise.all([
      messages.run({ stop: () => stopping, workers: 2, pauseMs: 50, maxCallsPerWorker: 100_000 }),
      payments.run({ stop: () => stopping, workers: 2, pauseMs: 50, maxCallsPerWorker: 100_000 }),
    ])
    await waitFor('honest traffic flowing', () => messages.acked.length >= 5 && payments.acked.length >= 5, 30_000, 50)

    // A's open connections, every 100 ms, from before the first burst to after the last.
    const samples: { at: number; connections: number }[] = []
    const healthErrors: string[] = []
    let sampling = true
    const sampler = (async () => {
      while (sampling && samples.length < 100_000) {
        const t = Date.now()
        try {
          samples.push({ at: t, connections: (await a.health()).connections as number })
        } catch (err) {
          healthErrors.push((err as Error).message)
        }
        await new Promise((r) => setTimeout(r, Math.max(0, SAMPLE_EVERY_MS - (Date.now() - t))))
      }
    })()

    const nodes: Libp2p[] = await dialers(LIBP2P_DIALS)
    cleanups.push(() => Promise.all(nodes.map((n) => n.stop())))
    const bursts: (StormResult & { msgsAckedDuring: number; paysAckedDuring: number; maxConnections: number })[] = []
    for (let i = 0; i < BURSTS; i++) {
      const from = Date.now()
      const result = await connectionStorm({ port: aPort, peerId: a.peerId, attempts: ATTEMPTS, libp2pDials: LIBP2P_DIALS, concurrency: CONCURRENCY, holdMs: HOLD_MS, random: () => rng.next() }, nodes)
      const to = Date.now()
      bursts.push({
        ...result,
        msgsAckedDuring: messages.acked.filter((m) => m.at >= from && m.at <= to).length,
        paysAckedDuring: payments.acked.filter((p) => p.at >= from && p.at <= to).length,
        maxConnections: Math.max(0, ...samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.connections)),
      })
      expect(a.child.exitCode).toBeNull()
    }
    const stormEnded = Date.now()
    await new Promise((r) => setTimeout(r, AFTER_MS))
    stopping = true
    await traffic
    sampling = false
    await sampler

    const msgsAfter = messages.acked.filter((m) => m.at > stormEnded).length
    const paysAfter = payments.acked.filter((p) => p.at > stormEnded).length
    const missingMessages = await messages.missingAt(a)
    let aView: ChannelView | null = null
    let bView: ChannelView | null = null
    await waitFor('A and B agree on the channel', async () => {
      aView = await ok<ChannelView>(a, 'getChannel', { channelId })
      bView = await ok<ChannelView>(b, 'getChannel', { channelId })
      return aView.seq === bView.seq && aView.paidSats === bView.paidSats
    }, 30_000, 200)
    const missingPayments = payments.missingAt(dirs.b.path)
    const maxSeen = Math.max(...samples.map((s) => s.connections))
    const overCap = samples.filter((s) => s.connections > CAP)
    const summary = {
      scenario: 'connection-storm',
      seed,
      seconds: Math.round((Date.now() - started) / 1000),
      cap: CAP,
      attempts: bursts.reduce((s, x) => s + x.attempts, 0),
      errors: Object.fromEntries(errorCodes),
      bursts: bursts.map(({ attempts, byKind, outcomes, ms, msgsAckedDuring, paysAckedDuring, maxConnections }) => ({ attempts, ms, byKind, outcomes, maxConnections, msgsAckedDuring, paysAckedDuring })),
      samples: samples.length,
      maxConnectionsSeen: maxSeen,
      samplesOverCap: overCap.length,
      healthErrors: healthErrors.length,
      honest: {
        messagesOk: messages.outcomes.ok,
        messagesFailed: failureCounts(messages.outcomes),
        paymentsOk: payments.outcomes.ok,
        paymentsFailed: failureCounts(payments.outcomes),
        messagesAfter: msgsAfter,
        paymentsAfter: paysAfter,
        missingMessages: missingMessages.length,
        missingPayments: missingPayments.length,
      },
    }
    recordSummary(summary)

    expect(a.child.exitCode).toBeNull()
    expect(healthErrors).toEqual([])
    expect(overCap).toEqual([])
    // The storm filled the node (libp2p prunes at 90% of the cap, the gater refuses at it),
    // or the test proves nothing about the cap.
    expect(maxSeen).toBeGreaterThanOrEqual(Math.floor(CAP * 0.8))
    for (const burst of bursts) expect({ msgs: burst.msgsAckedDuring > 0, pays: burst.paysAckedDuring > 0 }).toEqual({ msgs: true, pays: true })
    expect({ msgsAfter: msgsAfter > 0, paysAfter: paysAfter > 0 }).toEqual({ msgsAfter: true, paysAfter: true })
    expect(failureCounts(messages.outcomes)).toEqual({})
    expect(failureCounts(payments.outcomes)).toEqual({})
    expect(missingMessages).toEqual([])
    expect(missingPayments).toEqual([])

    expect(await a.kill('SIGTERM')).toBe(0)
    expect(await b.kill('SIGTERM')).toBe(0)
  })
})
