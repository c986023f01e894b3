import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContractError } from '../../../shared/contract/index.js'
import { MessagingService } from './service.js'
import { MessagingConfigError } from './settings.js'
import { type TestPeer, inboundTexts, metricValue, openRaw, rawFrame, startPeer } from './test/fixtures.js'

const RATE = 100
const BURST = 200

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
    const raw = await openRaw(flooder.libp2p, target.libp2p)
    const started = performance.now()
    let sent = 0
    let stop = false
    const flood = (async () => {
      // Full speed for about a second (bounded in count too), honouring only the muxer's backpressure.
      while (!stop && sent < 200_000 && performance.now() - started < 1_000) {
        const batch: number[] = []
        for (let k = 0; k < 200; k++) batch.push(...rawFrame({ t: 'msg', id: `flood-${sent++}`, text: 'spam', sentAt: 1 }))
        if (!raw.write(Uint8Array.from(batch))) await raw.stream.onDrain()
        else await new Promise((r) => setImmediate(r))
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
    await new Promise((r) => setTimeout(r, 200))

    expect(inboundTexts(target, friend.peerId)).toEqual(friendTexts)
    const stored = inboundTexts(target, flooder.peerId).length
    expect(sent).toBeGreaterThan(BURST * 5)
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThanOrEqual(BURST + Math.ceil(RATE * (elapsedSec + 1)))
    const dropped = await metricValue(target.metrics, 'messaging_rate_limited_total')
    expect(dropped).toBeGreaterThan(0)
    // Refusals are themselves budgeted: far fewer nacks than dropped frames.
    const nacks = raw.answers.filter((f) => f.t === 'nack')
    expect(nacks.length).toBeGreaterThan(0)
    expect(nacks.every((f) => f.t === 'nack' && f.code === 'rate_limited' && typeof f.retryAfterMs === 'number')).toBe(true)
    expect(nacks.length).toBeLessThan(dropped / 2)
    raw.stream.abort(new Error('done'))
  })

  it('a well-behaved sender over budget gets typed rate_limited errors, never a silent loss', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        friend.service.sendMessage(target.peerId, `burst ${i}`).then(
          () => 'ok',
          (e: ContractError) => e.code,
        ),
      ),
    )
    const ok = outcomes.filter((o) => o === 'ok').length
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThan(400)
    expect(new Set(outcomes.filter((o) => o !== 'ok'))).toEqual(new Set(['rate_limited']))
    // Whatever was reported delivered is stored; whatever was refused is not.
    const delivered = friend.service.listMessages({ peerId: target.peerId, limit: 500 }).filter((m) => m.status === 'delivered' && m.text.startsWith('burst'))
    expect(delivered).toHaveLength(ok)
    const failed = friend.service.listMessages({ peerId: target.peerId, limit: 500 }).filter((m) => m.status === 'failed' && m.text.startsWith('burst'))
    expect(failed).toHaveLength(400 - ok)
    expect(inboundTexts(target, friend.peerId).filter((t) => t.startsWith('burst'))).toHaveLength(ok)
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

  it('fails with unavailable after its deadline when the peer cannot be reached, and records the failure', async () => {
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const started = Date.now()
    const err = (await a.service.sendMessage(nobody, 'into the void').catch((e: unknown) => e)) as ContractError
    expect(err.code).toBe('unavailable')
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400)
    const [row] = a.service.listMessages({ peerId: nobody, limit: 1 })
    expect(row?.status).toBe('failed')
  })

  it('resends after the receiver restarts and delivers once it is back', async () => {
    const b = await startPeer({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      const addr = b.libp2p.getMultiaddrs()[0]!
      await a.libp2p.dial(addr)
      await a.service.sendMessage(b.peerId, 'before restart')
      await b.service.stop()
      const pending = a.service.sendMessage(b.peerId, 'while stopped')
      await new Promise((r) => setTimeout(r, 200))
      await b.service.start()
      await a.libp2p.dial(addr).catch(() => {})
      await pending
      expect(inboundTexts(b, a.peerId)).toEqual(['before restart', 'while stopped'])
      expect(await metricValue(a.metrics, 'messaging_stream_retries_total')).toBeGreaterThan(0)
    } finally {
      await b.stop()
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
