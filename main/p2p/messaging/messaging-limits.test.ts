import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ContractError } from '../../../shared/contract/index.js'
import { MessagingService } from './service.js'
import { MessagingConfigError } from './settings.js'
import { type RawStream, type TestPeer, inboundTexts, metricValue, openRaw, rawFrame, startPeer } from './test/fixtures.js'

const RATE = 100
const BURST = 200

async function closedBothWays(raw: RawStream): Promise<void> {
  if (raw.stream.status === 'closed' || raw.stream.status === 'aborted' || raw.stream.status === 'reset') return
  const closed = new Promise((resolve) => raw.stream.addEventListener('close', resolve, { once: true }))
  await raw.close().catch(() => {})
  await closed
}

describe('per-peer rate limit under a flood', () => {
  let flooder: TestPeer
  let friend: TestPeer
  let target: TestPeer

  beforeAll(async () => {
    flooder = await startPeer()
    friend = await startPeer()
    target = await startPeer({ init: { rateLimit: { ratePerSec: RATE, burst: BURST }, nackRatePerSec: 20 } })
    await flooder.libp2p.dial(target.libp2p.getMultiaddrs()[0]!)
    await friend.libp2p.dial(target.libp2p.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await flooder?.stop()
    await friend?.stop()
    await target?.stop()
  })

  it('throttles a raw flood to its budget while another peer is still served', async () => {
    let raw = await openRaw(flooder.libp2p, target.libp2p)
    let streams = 1
    const refusals: number[] = []
    const started = performance.now()
    let sent = 0
    let stop = false
    const flood = (async () => {
      // Full speed for about a second (bounded in count and streams too), honouring only the
      // muxer's backpressure; each refused stream is replaced, as a flooder would.
      while (!stop && sent < 200_000 && streams < 500 && performance.now() - started < 1_000) {
        if (raw.stream.status !== 'open') {
          refusals.push(raw.answers.filter((f) => f.t === 'nack').length)
          raw = await openRaw(flooder.libp2p, target.libp2p).catch(() => raw)
          streams++
          continue
        }
        const batch: number[] = []
        for (let k = 0; k < 200; k++) batch.push(...rawFrame({ t: 'msg', id: `flood-${sent++}`, text: 'spam', sentAt: 1 }))
        try {
          if (!raw.write(Uint8Array.from(batch))) await raw.stream.onDrain()
          else await new Promise((r) => setImmediate(r))
        } catch {
          await new Promise((r) => setImmediate(r))
        }
      }
    })()
    const friendTexts = Array.from({ length: 50 }, (_, i) => `friend ${i}`)
    const friendSends = (async () => {
      for (const t of friendTexts) await friend.service.sendMessage(target.peerId, t)
    })()
    await friendSends
    stop = true
    await flood
    const elapsedSec = (performance.now() - started) / 1000
    // Frames still in flight would be counted after the check, not in it. The receiver commits
    // what it took and closes its side when ours closes: once the stream is closed both ways,
    // every frame it will ever store from the flood is stored.
    await closedBothWays(raw)

    expect(inboundTexts(target, friend.peerId)).toEqual(friendTexts)
    const stored = inboundTexts(target, flooder.peerId).length
    expect(sent).toBeGreaterThan(BURST * 5)
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThanOrEqual(BURST + Math.ceil(RATE * (elapsedSec + 1)))
    const dropped = await metricValue(target.metrics, 'messaging_rate_limited_total')
    expect(dropped).toBeGreaterThan(0)
    // One refusal per stream, never one per frame: the flooder pays a stream for each answer.
    expect(refusals.every((n) => n <= 1)).toBe(true)
    const nacks = raw.answers.filter((f) => f.t === 'nack')
    expect(nacks.every((f) => f.t === 'nack' && f.code === 'rate_limited' && typeof f.retryAfterMs === 'number')).toBe(true)
    expect(refusals.length + 1).toBeLessThan(dropped / 2)
    raw.stream.abort(new Error('done'))
  })

  it('a well-behaved sender over budget is paced, not refused: every message delivered once, in order, no failure', async () => {
    const texts = Array.from({ length: 3 * BURST }, (_, i) => `burst ${i}`)
    const started = performance.now()
    const outcomes = await Promise.all(
      texts.map((t) =>
        friend.service.sendMessage(target.peerId, t).then(
          () => 'ok',
          (e: ContractError) => e.code,
        ),
      ),
    )
    const seconds = (performance.now() - started) / 1000
    expect(new Set(outcomes)).toEqual(new Set(['ok']))
    // In the order sent, each once: refused ones went again in their place.
    expect(inboundTexts(target, friend.peerId).filter((t) => t.startsWith('burst'))).toEqual(texts)
    const delivered = friend.service.listMessages({ peerId: target.peerId, limit: 1000 }).filter((m) => m.text.startsWith('burst'))
    expect(delivered.every((m) => m.status === 'delivered')).toBe(true)
    // At the receiver's pace: past its burst, no faster than its rate allows, and not much slower.
    expect(seconds).toBeGreaterThanOrEqual((texts.length - 2 * BURST) / RATE - 0.5)
    expect(seconds).toBeLessThan(texts.length / RATE + 10)
    expect(await metricValue(friend.metrics, 'messaging_refusals_total', { code: 'rate_limited' })).toBeGreaterThan(0)
  })
})

describe('deadlines, restarts and settings', () => {
  let a: TestPeer

  beforeAll(async () => {
    a = await startPeer({ init: { deadlineMs: 1_500, dialTimeoutMs: 500 } })
  })

  afterAll(async () => {
    await a?.stop()
  })

  it('answers pending at once when the peer cannot be reached, and keeps the message', async () => {
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const started = Date.now()
    const sent = await a.service.sendMessage(nobody, 'into the void')
    expect(sent.status).toBe('pending')
    // No address to dial: the answer does not wait for the deadline.
    expect(Date.now() - started).toBeLessThan(1_400)
    const [row] = a.service.listMessages({ peerId: nobody, limit: 1 })
    expect(row).toMatchObject({ seq: sent.seq, status: 'pending' })
  })

  it('resends after the receiver restarts and delivers once it is back', async () => {
    // Its own sender, with a deadline that a busy machine cannot outrun: this is about resending.
    const a = await startPeer({ init: { deadlineMs: 20_000 } })
    const b = await startPeer({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      const addr = b.libp2p.getMultiaddrs()[0]!
      await a.libp2p.dial(addr)
      await a.service.sendMessage(b.peerId, 'before restart')
      await b.service.stop()
      const pending = a.service.sendMessage(b.peerId, 'while stopped')
      // A try has failed against the stopped receiver before it comes back: this is about resending.
      await vi.waitFor(async () => expect(await metricValue(a.metrics, 'messaging_stream_retries_total')).toBeGreaterThan(0), { timeout: 15_000, interval: 20 })
      await b.service.start()
      await a.libp2p.dial(addr).catch(() => {})
      await pending
      expect(inboundTexts(b, a.peerId)).toEqual(['before restart', 'while stopped'])
      expect(await metricValue(a.metrics, 'messaging_stream_retries_total')).toBeGreaterThan(0)
    } finally {
      await b.stop()
      await a.stop()
    }
  })

  it('start after stop works and stop fails what is still waiting', async () => {
    await a.service.stop()
    await expect(a.service.sendMessage(a.peerId, 'x')).rejects.toMatchObject({ code: 'unavailable' })
    await a.service.start()
    expect(a.service.isRunning).toBe(true)
    expect(a.libp2p.getProtocols()).toContain('/bsv-p2p/msg/1.0.0')
    await a.service.stop()
    expect(a.libp2p.getProtocols()).not.toContain('/bsv-p2p/msg/1.0.0')
    await a.service.start()
  })

  it('refuses nonsense settings with a named error', () => {
    const components = { node: { libp2p: a.libp2p }, store: a.store, logger: a.service['logger'], metrics: a.metrics, events: a.events }
    expect(() => new MessagingService(components, { window: 0 })).toThrow(MessagingConfigError)
    expect(() => new MessagingService(components, { rateLimit: { ratePerSec: -1 } })).toThrow(MessagingConfigError)
    expect(() => new MessagingService(components, { maxFrameBytes: 100 })).toThrow(MessagingConfigError)
  })
})
