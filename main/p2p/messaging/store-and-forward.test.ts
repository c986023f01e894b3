import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import type { ContractError, Message } from '../../../shared/contract/index.js'
import { type TestPeer, inboundTexts, metricValue, startPeer } from './test/fixtures.js'

/**
 * Store-and-forward on real nodes and real SQLite files: a peer we have no way to reach
 * (we know no address of it) is "away"; it comes back by dialling us.
 */
describe('messages to a peer that is away', () => {
  const peers: TestPeer[] = []
  const start = async (...args: Parameters<typeof startPeer>): Promise<TestPeer> => {
    const p = await startPeer(...args)
    peers.push(p)
    return p
  }

  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop().catch(() => {})
  })

  function outbound(peer: TestPeer, to: string): Message[] {
    return peer.service.listMessages({ peerId: to, limit: 500 }).filter((m) => m.direction === 'out')
  }

  async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
    const end = Date.now() + ms
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  it('are answered pending at once, kept in order, and delivered in order when the peer is back', async () => {
    const a = await start()
    const b = await start()
    const events: Message[] = []
    a.events.on('message', (m) => events.push(m))
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.service.sendMessage(b.peerId, `m${i}`)))
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(new Set(results.map((r) => r.status))).toEqual(new Set(['pending']))
    expect(outbound(a, b.peerId).every((m) => m.status === 'pending')).toBe(true)
    expect(events.filter((m) => m.status === 'pending')).toHaveLength(50)
    expect(await metricValue(a.metrics, 'messaging_outbound_pending')).toBe(50)

    // The peer comes back (it dials us): everything leaves, in the order it was sent.
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    await until(() => inboundTexts(b, a.peerId).length === 50, 'delivery')
    expect(inboundTexts(b, a.peerId)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
    await until(() => outbound(a, b.peerId).every((m) => m.status === 'delivered'), 'delivered status')
    await until(() => events.filter((m) => m.status === 'delivered').length === 50, 'delivered events')
    expect(await metricValue(a.metrics, 'messaging_outbound_pending')).toBe(0)
  })

  it('a caller that passes timeoutMs waits that long, then is told pending', async () => {
    const a = await start()
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const started = Date.now()
    const sent = await a.service.sendMessage(nobody, 'patient', null, 800)
    expect(sent.status).toBe('pending')
    expect(Date.now() - started).toBeGreaterThanOrEqual(750)
  })

  it('survive a restart of the sender and leave when the peer is back', async () => {
    const a = await start()
    const b = await start()
    await a.service.sendMessage(b.peerId, 'first')
    await a.service.sendMessage(b.peerId, 'second')
    await a.service.stop()
    await a.service.start()
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    await until(() => inboundTexts(b, a.peerId).length === 2, 'delivery after restart')
    expect(inboundTexts(b, a.peerId)).toEqual(['first', 'second'])
  })

  it('fail after their expiry, and can be retried or deleted', async () => {
    const a = await start({ init: { pendingExpiryMs: 1_000 } })
    const b = await start()
    const events: Message[] = []
    const deleted: { seq: number }[] = []
    a.events.on('message', (m) => events.push(m))
    a.events.on('messageDeleted', (d) => deleted.push(d))
    const first = await a.service.sendMessage(b.peerId, 'will expire')
    const second = await a.service.sendMessage(b.peerId, 'will be deleted')
    await until(() => outbound(a, b.peerId).every((m) => m.status === 'failed'), 'expiry', 10_000)
    expect(events.filter((m) => m.status === 'failed').map((m) => m.seq).sort()).toEqual([first.seq, second.seq].sort())
    expect(await metricValue(a.metrics, 'messaging_expired_total')).toBe(2)

    // Delete one; it is gone and never sent. Deleting again, or a received message, is refused.
    expect(a.service.deleteMessage(second.seq)).toMatchObject({ seq: second.seq, peerId: b.peerId })
    expect(deleted).toEqual([{ seq: second.seq, peerId: b.peerId, id: second.id }])
    expect(() => a.service.deleteMessage(second.seq)).toThrow(expect.objectContaining({ code: 'not_found' }) as Error)

    // Retry the other: pending again, then delivered once the peer is back.
    expect(a.service.retryMessage(first.seq)).toMatchObject({ seq: first.seq, status: 'pending' })
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    await until(() => inboundTexts(b, a.peerId).length === 1, 'retried delivery')
    expect(inboundTexts(b, a.peerId)).toEqual(['will expire'])
    await until(() => outbound(a, b.peerId)[0]?.status === 'delivered', 'delivered')
    expect(outbound(a, b.peerId)).toHaveLength(1)
    const err = (() => {
      try {
        a.service.deleteMessage(first.seq)
      } catch (e) {
        return e as ContractError
      }
      return null
    })()
    expect(err?.code).toBe('invalid_state')
    expect(a.service.retryMessage(first.seq).status).toBe('delivered')
  })

  it('a caller waiting on a message that is deleted is answered at once', async () => {
    const a = await start()
    const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const waiting = a.service.sendMessage(nobody, 'going', null, 60_000).catch((e: unknown) => e as ContractError)
    await until(() => outbound(a, nobody).length === 1, 'stored')
    a.service.deleteMessage(outbound(a, nobody)[0]!.seq)
    expect((await waiting as ContractError).code).toBe('conflict')
  })

  it('are bounded in all: past maxPendingTotal a send is refused rate_limited, and nothing is stored for it', async () => {
    const a = await start({ init: { maxPendingTotal: 5 } })
    const b = await start()
    for (let i = 0; i < 5; i++) await a.service.sendMessage(b.peerId, `k${i}`)
    const err = (await a.service.sendMessage(b.peerId, 'one too many').catch((e: unknown) => e)) as ContractError
    expect(err.code).toBe('rate_limited')
    expect(err.details).toMatchObject({ queued: 5 })
    expect(outbound(a, b.peerId)).toHaveLength(5)
  })
})
