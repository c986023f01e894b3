// The keeper's timing, on a fake clock against a stand-in for libp2p: every attempt lands
// exactly when the backoff says, however slow the machine. relay-keeper.test.ts runs it
// against a real relay.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Logger, silentLogger } from '../telemetry/index.js'
import { Metrics } from '../telemetry/metrics.js'
import { RelayKeeper } from './relay-keeper.js'
import type { RelayReservationStore } from './relay-reservations.js'

describe('RelayKeeper on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('retries a dead relay on the backoff schedule, at exactly the times it sets', async () => {
    const relayId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    vi.useFakeTimers()
    const began = Date.now()
    const dials: number[] = []
    // Only what the keeper touches: events, and a dial that fails as a refused port does.
    const libp2p = Object.assign(new EventTarget(), {
      dial: () => {
        dials.push(Date.now() - began)
        return Promise.reject(new Error('connect ECONNREFUSED'))
      },
      getConnections: () => [],
      getMultiaddrs: () => [],
    }) as unknown as Libp2p
    const keeper = new RelayKeeper(
      { libp2p, reservationStore: null, logger: silentLogger, metrics: new Metrics() },
      { relays: [`/ip4/127.0.0.1/tcp/1/p2p/${relayId}`], baseDelayMs: 250, maxDelayMs: 2000, dialTimeoutMs: 5000, breakerThreshold: 5, checkIntervalMs: 5000, random: () => 0.5 },
    )
    await keeper.start()
    try {
      // With the jitter fixed at 0.5 the delays are 0, 250, 500, 1000, 1000 ms: five attempts
      // in the first 3 s, the sixth at 3.75 s.
      await vi.advanceTimersByTimeAsync(3000)
      expect(dials).toEqual([0, 250, 750, 1750, 2750])
      expect(keeper.health().relays[0]).toMatchObject({ attempts: 5, failures: 5, state: 'unavailable', nextAttemptInMs: 750 })
      await vi.advanceTimersByTimeAsync(750)
      expect(dials).toHaveLength(6)
    } finally {
      await keeper.stop()
    }
    // Stopped: no timer left, no attempt ever again.
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(dials).toHaveLength(6)
  })

  it("refreshes a reservation whose expiry is already past by our clock (ours hours ahead of the relay's) once a minute, with one warning, not twice a second", async () => {
    const relayId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    vi.useFakeTimers()
    // The relay's clock is three hours behind ours; its reservations last two hours.
    const relayNow = (): number => Date.now() - 3 * 3_600_000
    let expire: bigint | null = null
    let reservations = 0
    const libp2p = Object.assign(new EventTarget(), {
      dial: () => Promise.resolve(),
      peerStore: { merge: () => Promise.resolve() },
      // The relay stays connected.
      getConnections: () => [{}],
      getMultiaddrs: () => [],
    }) as unknown as Libp2p
    const reservationStore = Object.assign(new EventTarget(), {
      addRelay: () => {
        reservations++
        expire = BigInt(Math.floor((relayNow() + 2 * 3_600_000) / 1000))
        return Promise.resolve()
      },
      hasReservation: () => expire !== null,
      getReservation: () => (expire === null ? undefined : { expire }),
    }) as unknown as RelayReservationStore
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg), child: () => logger }
    const keeper = new RelayKeeper(
      { libp2p, reservationStore, logger, metrics: new Metrics() },
      { relays: [`/ip4/127.0.0.1/tcp/1/p2p/${relayId}`], baseDelayMs: 250, maxDelayMs: 2000, dialTimeoutMs: 5000, breakerThreshold: 5, checkIntervalMs: 5000, random: () => 0.5 },
    )
    await keeper.start()
    try {
      await vi.advanceTimersByTimeAsync(10 * 60_000)
      expect(keeper.health().relays[0]?.state).toBe('reserved')
      // The first reservation and one refresh a minute: not 1,200 (one per 500 ms).
      expect(reservations).toBeGreaterThanOrEqual(10)
      expect(reservations).toBeLessThanOrEqual(12)
      expect(warnings).toEqual(["the relay's reservation expires in the past by this machine's clock: one of the two clocks is wrong; refreshing it every minute"])
    } finally {
      await keeper.stop()
    }
  })
})

