import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipSub } from '@libp2p/gossipsub'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics, silentLogger } from '../../telemetry/index.js'
import { type Libp2pNode, createNode } from '../libp2p.js'
import { waitFor } from '../test/helpers.js'
import { TEST_LIMITS, metricValue } from '../messaging/test/fixtures.js'
import type { AnnouncedPeer } from './announcement.js'
import { AnnouncementService } from './announcement-service.js'
import { ANNOUNCE_TOPIC } from './constants.js'

async function node(): Promise<Libp2pNode> {
  const n = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: TEST_LIMITS, mdns: false })
  await n.start()
  return n
}

const pubsubOf = (n: Libp2pNode): GossipSub => (n.services as unknown as { pubsub: GossipSub }).pubsub


describe('AnnouncementService over real gossipsub', () => {
  let a: Libp2pNode
  let b: Libp2pNode
  let forger: Libp2pNode
  let aService: AnnouncementService
  let bService: AnnouncementService
  const aMetrics = new Metrics()
  const heard: AnnouncedPeer[] = []

  beforeAll(async () => {
    ;[a, b, forger] = await Promise.all([node(), node(), node()])
    aService = new AnnouncementService({ node: { libp2p: a }, logger: silentLogger, metrics: aMetrics }, { onAnnouncement: (p) => heard.push(p), changeDebounceMs: 20 })
    bService = new AnnouncementService(
      { node: { libp2p: b }, logger: silentLogger, metrics: new Metrics() },
      { name: 'bob', services: [{ name: 'storage', priceSats: 50 }], walletIdentityKey: `03${'cd'.repeat(32)}`, changeDebounceMs: 20 },
    )
    await aService.start()
    await bService.start()
    pubsubOf(forger).subscribe(ANNOUNCE_TOPIC)
    await b.dial(a.getMultiaddrs()[0]!)
    await forger.dial(a.getMultiaddrs()[0]!)
    await waitFor(() => pubsubOf(forger).getSubscribers(ANNOUNCE_TOPIC).some((p) => p.equals(a.peerId)), 'subscriptions to propagate')
  })

  afterAll(async () => {
    await aService?.stop()
    await bService?.stop()
    await Promise.all([a?.stop(), b?.stop(), forger?.stop()])
  })

  it('hears a peer announce itself once they meet', async () => {
    await waitFor(() => heard.some((p) => p.peerId === b.peerId.toString()), "bob's announcement")
    const bob = heard.find((p) => p.peerId === b.peerId.toString())!
    expect(bob).toMatchObject({ name: 'bob', services: [{ name: 'storage', priceSats: 50 }], source: 'announcement', walletIdentityKey: `03${'cd'.repeat(32)}` })
  })

  it('announces changes', async () => {
    bService.describe({ name: 'bob the builder' })
    await waitFor(() => heard.some((p) => p.name === 'bob the builder'), 'the new name')
  })

  it('refuses an announcement signed by one peer about another (forged inner peer id)', async () => {
    const forged = { v: 1, peerId: b.peerId.toString(), name: 'evil bob', services: [{ name: 'storage', priceSats: 1 }], relayAddrs: [], ts: Date.now() }
    await pubsubOf(forger).publish(ANNOUNCE_TOPIC, new TextEncoder().encode(JSON.stringify(forged)))
    // Then an honest one from the same forger, to know the path works and the forgery came first.
    const honest = { v: 1, peerId: forger.peerId.toString(), name: 'honest', services: [], relayAddrs: [], ts: Date.now() }
    await pubsubOf(forger).publish(ANNOUNCE_TOPIC, new TextEncoder().encode(JSON.stringify(honest)))
    await waitFor(() => heard.some((p) => p.peerId === forger.peerId.toString()), 'the honest announcement')
    expect(heard.some((p) => p.name === 'evil bob')).toBe(false)
    expect(await metricValue(aMetrics, 'discovery_announcements_total', { result: 'reject', reason: 'forged_peer_id' })).toBe(1)
  })

  it('ignores a replayed (older) announcement from the same author', async () => {
    const old = { v: 1, peerId: forger.peerId.toString(), name: 'old news', services: [], relayAddrs: [], ts: Date.now() - 60_000 }
    await pubsubOf(forger).publish(ANNOUNCE_TOPIC, new TextEncoder().encode(JSON.stringify(old)))
    const end = Date.now() + 10_000
    while ((await metricValue(aMetrics, 'discovery_announcements_total', { result: 'ignore', reason: 'replayed' })) < 1 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(await metricValue(aMetrics, 'discovery_announcements_total', { result: 'ignore', reason: 'replayed' })).toBe(1)
    expect(heard.some((p) => p.name === 'old news')).toBe(false)
  })

  it('stops and starts again', async () => {
    await aService.stop()
    expect(pubsubOf(a).getTopics()).not.toContain(ANNOUNCE_TOPIC)
    expect(pubsubOf(a).topicValidators.has(ANNOUNCE_TOPIC)).toBe(false)
    await aService.start()
    expect(pubsubOf(a).getTopics()).toContain(ANNOUNCE_TOPIC)
  })
})

describe('AnnouncementService with a relay reservation', () => {
  it('announces its circuit address once the reservation is made', async () => {
    const relay = await createNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      limits: TEST_LIMITS,
      mdns: false,
      pubsub: false,
      relayServer: { maxReservations: 4, reservationTtlMs: 60_000, connectionDataLimit: 1n << 20n, connectionDurationLimitMs: 60_000 },
    })
    await relay.start()
    const listener = await node()
    const carol = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'], limits: TEST_LIMITS, mdns: false })
    await carol.start()
    const heard: AnnouncedPeer[] = []
    const listenerService = new AnnouncementService({ node: { libp2p: listener }, logger: silentLogger, metrics: new Metrics() }, { onAnnouncement: (p) => heard.push(p), changeDebounceMs: 20 })
    const carolService = new AnnouncementService({ node: { libp2p: carol }, logger: silentLogger, metrics: new Metrics() }, { name: 'carol', changeDebounceMs: 20 })
    try {
      await listenerService.start()
      await carolService.start()
      await carol.dial(listener.getMultiaddrs()[0]!)
      await carol.dial(relay.getMultiaddrs()[0]!)
      const suffix = `/p2p/${relay.peerId.toString()}/p2p-circuit/p2p/${carol.peerId.toString()}`
      await waitFor(() => heard.some((p) => p.multiaddrs.some((m) => m.endsWith(suffix))), 'a circuit address in an announcement')
    } finally {
      await carolService.stop()
      await listenerService.stop()
      await Promise.all([carol.stop(), listener.stop(), relay.stop()])
    }
  })
})
