// Relay flapping under traffic (issue #7): a real relay process is SIGKILLed and restarted
// (same data dir, same port: same multiaddr) every few seconds while two daemon processes,
// which reach each other only through that relay, exchange direct messages and pay
// through a funded channel on a devnet process. Both daemons announce only their circuit
// address, so neither learns a direct address of the other and every byte between them
// crosses the relay. Afterwards: no daemon exited, every acknowledged message is listed
// by the receiver, every acknowledged payment is stored by the payee and both sides agree,
// the reservation came back after every return, and the daemons' memory stayed flat.
// CHAOS_SEED=<seed> replays the same up and down times.
import { describe, expect, it } from 'vitest'
import { type DaemonProc, HOST_ENTRIES, type RelayProc, firstLine, freePort, runEntry, startRelay, tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import { scenarioSetup } from './support/scenario.js'
import { recordSummary } from './support/results.js'
import { type ChannelView, devnetDaemon, fundWallet, ok } from '../helpers/devnet-daemons.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'
import { MessageTraffic, PaymentTraffic, RssSampler, failureCounts } from './support/traffic.js'

const DURATION_MS = scaled({ short: 60_000, full: 10 * 60_000 })
/** The relay stays up this long once both daemons hold a reservation again (ms). */
const UP_MS = scaled({ short: [1_500, 3_500], full: [2_000, 4_000] })
/** And stays dead this long (ms). */
const DOWN_MS = [200, 1_500]
/** Generous: the keeper retries at most every 2 s, and this machine is shared. */
const RESERVE_BOUND_MS = 30_000
const RSS_EVERY_MS = scaled({ short: 1_000, full: 5_000 })
/** Memory is sampled from this far into the flapping: start-up and JIT warm-up are not growth. */
const RSS_WARMUP_MS = scaled({ short: 15_000, full: 60_000 })
const RSS_GROWTH_MAX_MB = 50
const CAPACITY = 1_000_000

const { devnet: scenarioDevnet, cleanups } = scenarioSetup()

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Start the relay again on its port; a start that prints nothing within startRelay's 30 s
 * (it happens on a machine shared with other test runs) is killed and tried again, a bounded
 * number of times, and counted.
 */
async function restartRelay(dir: string, port: number, slowStarts: { count: number }): Promise<RelayProc> {
  for (let attempt = 1; ; attempt++) {
    const proc = runEntry(HOST_ENTRIES.relay, ['--data-dir', dir, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'info'])
    try {
      return { ...proc, multiaddr: await firstLine(proc, 30_000, false) }
    } catch (err) {
      await proc.kill('SIGKILL')
      if (attempt >= 3) throw err
      slowStarts.count++
    }
  }
}

describe('relay flapping', () => {
  it(`a relay killed and restarted every few seconds for ${DURATION_MS / 1000} s loses nothing acknowledged`, async () => {
    const devnet = scenarioDevnet()
    const seed = chaosSeed()
    const rng = prng(seed)
    process.stdout.write(`relay-flapping: CHAOS_SEED=${seed}\n`)
    const started = Date.now()
    const dirs = { relay: tempDir(), a: tempDir(), b: tempDir() }
    cleanups.push(dirs.relay.remove, dirs.a.remove, dirs.b.remove)
    const relayPort = await freePort()
    let relay: RelayProc = await startRelay(dirs.relay.path, relayPort)
    cleanups.push(() => relay.kill('SIGKILL'))
    const relayAddr = relay.multiaddr
    // Only the circuit address is announced: the peers can reach each other through the relay alone.
    const config = { p2p: { announce: [`${relayAddr}/p2p-circuit`] } }
    const a = await devnetDaemon(devnet, dirs.a.path, ['--relay', relayAddr], config)
    const b = await devnetDaemon(devnet, dirs.b.path, ['--relay', relayAddr], config)
    cleanups.push(() => a.kill('SIGKILL'), () => b.kill('SIGKILL'))
    const reserved = async (d: DaemonProc): Promise<boolean> => (await d.health()).relay.state === 'reserved'
    await waitFor('A and B reserved', async () => (await reserved(a)) && (await reserved(b)), RESERVE_BOUND_MS, 100)

    await fundWallet(devnet, a, CAPACITY * 2)
    const connected = await ok<{ peerId: string; connection: string }>(a, 'connectPeer', { multiaddr: `${relayAddr}/p2p-circuit/p2p/${b.peerId}` })
    expect(connected).toEqual({ peerId: b.peerId, connection: 'relayed' })
    const { id: channelId } = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })

    const messages = new MessageTraffic(() => a, () => b, 'flap')
    const payments = new PaymentTraffic(() => a, channelId)
    let stopping = false
    const traffic = Promise.all([
      messages.run({ stop: () => stopping, workers: 2, pauseMs: 50, maxCallsPerWorker: 100_000 }),
      payments.run({ stop: () => stopping, workers: 2, pauseMs: 50, maxCallsPerWorker: 100_000 }),
    ])
    const rss = new RssSampler(() => ({ a: a.child.pid, b: b.child.pid }))
    const rssStart = setTimeout(() => rss.start(RSS_EVERY_MS), RSS_WARMUP_MS)
    cleanups.push(() => {
      clearTimeout(rssStart)
      rss.stop()
    })

    // The flapping: kill, stay dead a while, come back on the same port with the same identity,
    // wait for both reservations (bounded), stay up a while under traffic, again.
    const flaps: { downMs: number; reserveMsA: number; reserveMsB: number; msgsAcked: number; paysAcked: number }[] = []
    const slowStarts = { count: 0 }
    const deadline = Date.now() + DURATION_MS
    while (Date.now() < deadline && flaps.length < 10_000) {
      await relay.kill('SIGKILL')
      const downMs = rng.between(DOWN_MS[0]!, DOWN_MS[1]!)
      await sleep(downMs)
      relay = await restartRelay(dirs.relay.path, relayPort, slowStarts)
      expect(relay.multiaddr).toBe(relayAddr)
      const back = Date.now()
      const reserveMsA = await waitFor(`A reserved after return ${flaps.length + 1}`, () => reserved(a), RESERVE_BOUND_MS, 50)
      await waitFor(`B reserved after return ${flaps.length + 1}`, () => reserved(b), RESERVE_BOUND_MS, 50)
      const reserveMsB = Date.now() - back
      expect({ aExit: a.child.exitCode, bExit: b.child.exitCode }).toEqual({ aExit: null, bExit: null })
      flaps.push({ downMs, reserveMsA, reserveMsB, msgsAcked: messages.acked.length, paysAcked: payments.acked.length })
      await sleep(rng.between(UP_MS[0]!, UP_MS[1]!))
    }
    stopping = true
    rss.stop()
    await traffic

    // Settled, with the relay up: traffic works again, and nothing acknowledged is missing.
    await waitFor('a message goes through after the flapping', async () => (await a.call('sendMessage', { peerId: b.peerId, text: 'after the storm' })).body.ok, 60_000, 500)
    await waitFor('a payment goes through after the flapping', async () => (await payments.payOnce()) === null, 60_000, 500)
    let aView: ChannelView | null = null
    let bView: ChannelView | null = null
    await waitFor('A and B agree on the channel', async () => {
      aView = await ok<ChannelView>(a, 'getChannel', { channelId })
      bView = await ok<ChannelView>(b, 'getChannel', { channelId })
      return aView.seq === bView.seq && aView.paidSats === bView.paidSats
    }, 60_000, 200)

    const missingMessages = await messages.missingAt(b)
    const missingPayments = payments.missingAt(dirs.b.path)
    const maxAcked = payments.maxAcked!
    const peerB = (await ok<{ peerId: string; connection: string }[]>(a, 'listPeers')).find((p) => p.peerId === b.peerId)
    const memory = rss.summary()
    const flapsWithTraffic = flaps.filter((f, i) => i > 0 && (f.msgsAcked > flaps[i - 1]!.msgsAcked || f.paysAcked > flaps[i - 1]!.paysAcked)).length
    const summary = {
      scenario: 'relay-flapping',
      seed,
      seconds: Math.round((Date.now() - started) / 1000),
      flaps: flaps.length,
      relaySlowStarts: slowStarts.count,
      flapsWithTrafficBetween: flapsWithTraffic,
      meanDownMs: Math.round(flaps.reduce((s, f) => s + f.downMs, 0) / flaps.length),
      reserveMsA: { mean: Math.round(flaps.reduce((s, f) => s + f.reserveMsA, 0) / flaps.length), max: Math.max(...flaps.map((f) => f.reserveMsA)) },
      reserveMsB: { mean: Math.round(flaps.reduce((s, f) => s + f.reserveMsB, 0) / flaps.length), max: Math.max(...flaps.map((f) => f.reserveMsB)) },
      messagesAcked: messages.acked.length,
      messagesFailed: failureCounts(messages.outcomes),
      missingMessages: missingMessages.length,
      paymentsAcked: payments.acked.length,
      paymentsFailed: failureCounts(payments.outcomes),
      ackedSats: payments.ackedSats,
      finalSeq: bView!.seq,
      finalPaidSats: bView!.paidSats,
      missingPayments: missingPayments.length,
      connectionToB: peerB?.connection ?? 'none',
      rssWarmupS: RSS_WARMUP_MS / 1000,
      rssMb: memory,
      rssSeriesMb: rss.series(8),
    }
    recordSummary(summary)

    expect({ aExit: a.child.exitCode, bExit: b.child.exitCode }).toEqual({ aExit: null, bExit: null })
    expect(missingMessages).toEqual([])
    expect(missingPayments).toEqual([])
    expect(bView!.paidSats).toBeGreaterThanOrEqual(payments.ackedSats)
    expect(bView!.seq).toBeGreaterThanOrEqual(maxAcked.seq)
    expect(bView!.paidSats).toBeGreaterThanOrEqual(maxAcked.paidSats)
    // The traffic really crossed the relay, and really ran between the flaps.
    expect(peerB?.connection).toBe('relayed')
    expect(flapsWithTraffic).toBeGreaterThanOrEqual(Math.floor(flaps.length / 2))
    for (const [name, m] of Object.entries(memory)) expect({ name, growthUnderBound: m.growthMb < RSS_GROWTH_MAX_MB }).toEqual({ name, growthUnderBound: true })

    expect(await a.kill('SIGTERM')).toBe(0)
    expect(await b.kill('SIGTERM')).toBe(0)
  })
})
