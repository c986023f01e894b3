import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Libp2pNode } from '../libp2p.js'
import { type TestPeer, inboundTexts, metricValue, startLibp2p, startPeer } from './test/fixtures.js'

const UNLIMITED = { ratePerSec: 1_000_000, burst: 1_000_000 }

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Sender and receiver have no direct address at all (the receiver listens only on
 * /p2p-circuit, the sender listens nowhere), so every byte goes through the relay.
 */
async function relayedPair(dataLimit: bigint): Promise<{ relay: Libp2pNode; a: TestPeer; b: TestPeer; circuit: string }> {
  const relay = await startLibp2p(['/ip4/127.0.0.1/tcp/0'], {
    maxReservations: 16,
    reservationTtlMs: 60_000,
    connectionDataLimit: dataLimit,
    connectionDurationLimitMs: 120_000,
  })
  const b = await startPeer({ listen: ['/p2p-circuit'], init: { rateLimit: UNLIMITED } })
  const a = await startPeer({ listen: [], init: { rateLimit: UNLIMITED, deadlineMs: 60_000 } })
  await b.libp2p.dial(relay.getMultiaddrs()[0]!)
  const circuit = await waitFor('a circuit reservation', () => b.libp2p.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))?.toString())
  await a.libp2p.dial(relay.getMultiaddrs()[0]!)
  return { relay, a, b, circuit }
}

describe('messages through a circuit relay', () => {
  let relay: Libp2pNode
  let a: TestPeer
  let b: TestPeer

  beforeAll(async () => {
    ;({ relay, a, b } = await relayedPair(1n << 28n))
    const circuit = b.libp2p.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))!
    const { multiaddr } = await import('@multiformats/multiaddr')
    await a.libp2p.dial(multiaddr(circuit.toString()))
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await relay?.stop()
  })

  it('delivers 2,000 messages over a limited (relayed) connection: none lost, none duplicated, in order', async () => {
    const conns = a.libp2p.getConnections(b.libp2p.peerId)
    expect(conns.length).toBeGreaterThan(0)
    expect(conns.every((c) => c.limits !== undefined)).toBe(true)
    const texts = Array.from({ length: 2_000 }, (_, i) => `relayed ${i}`)
    await Promise.all(texts.map((t) => a.service.sendMessage(b.peerId, t)))
    expect(inboundTexts(b, a.peerId)).toEqual(texts)
    expect(await metricValue(b.metrics, 'messaging_duplicates_total')).toBe(0)
  })
})

describe('messages through a relay that keeps cutting the connection', () => {
  let relay: Libp2pNode
  let a: TestPeer
  let b: TestPeer

  beforeAll(async () => {
    // 48 KiB per relayed connection: a few hundred messages and the relay closes it.
    ;({ relay, a, b } = await relayedPair(48n * 1024n))
    const circuit = b.libp2p.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))!
    const { multiaddr } = await import('@multiformats/multiaddr')
    await a.libp2p.dial(multiaddr(circuit.toString()))
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await relay?.stop()
  })

  it('resends on a new connection after each cut: every message stored exactly once, in order', async () => {
    const texts = Array.from({ length: 1_500 }, (_, i) => `cut ${i} ${'x'.repeat(40)}`)
    await Promise.all(texts.map((t) => a.service.sendMessage(b.peerId, t)))
    expect(inboundTexts(b, a.peerId)).toEqual(texts)
    expect(await metricValue(a.metrics, 'messaging_stream_retries_total')).toBeGreaterThan(0)
    expect(a.libp2p.getConnections(b.libp2p.peerId).every((c) => c.limits !== undefined)).toBe(true)
  })
})
