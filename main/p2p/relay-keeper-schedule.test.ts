// The keeper's timing, on a fake clock against a stand-in for libp2p: every attempt lands
// exactly when the backoff says, however slow the machine. relay-keeper.test.ts runs it
// against a real relay.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../telemetry/index.js'
import { Metrics } from '../telemetry/metrics.js'
import { RelayKeeper } from './relay-keeper.js'

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
})
