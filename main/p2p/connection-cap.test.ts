import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Libp2pNode, createNode } from './libp2p.js'

const node = async (maxConnections: number): Promise<Libp2pNode> => {
  const n = await createNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    limits: { maxConnections, inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 100 },
    mdns: false,
    pubsub: false,
  })
  await n.start()
  return n
}

describe('the connection cap', () => {
  const nodes: Libp2pNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()))
  })

  it('is a hard ceiling: a burst of handshakes completing at once never takes a node past maxConnections', async () => {
    const CAP = 6
    const target = await node(CAP)
    nodes.push(target)
    const dialers = await Promise.all(Array.from({ length: 24 }, () => node(100)))
    nodes.push(...dialers)
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, target.getConnections().length)), 2)
    const onOpen = (): void => {
      peak = Math.max(peak, target.getConnections().length)
    }
    target.addEventListener('connection:open', onOpen)
    const addr = multiaddr(target.getMultiaddrs()[0]!.toString())
    const results = await Promise.allSettled(dialers.map((d) => d.dial(addr, { signal: AbortSignal.timeout(20_000) })))
    // A dialer's side of a connection may open before the target's side does. Real sockets, so
    // no fake clock: wait until each connection a dialer got has either opened on the target
    // (and was sampled at its connection:open) or closed; after that no open can come late.
    const dialed = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ connection: r.value, dialer: dialers[i]!.peerId }] : []))
    const settled = (): boolean => dialed.every(({ connection, dialer }) => connection.status !== 'open' || target.getConnections(dialer).length > 0)
    await vi.waitFor(() => expect(settled()).toBe(true), { timeout: 20_000, interval: 20 })
    clearInterval(sampler)
    target.removeEventListener('connection:open', onOpen)
    const refused = results.filter((r) => r.status === 'rejected').length
    expect(peak).toBeLessThanOrEqual(CAP)
    // It was full: the cap, not luck, kept it there.
    expect(peak).toBeGreaterThanOrEqual(CAP - 1)
    expect(refused).toBeGreaterThan(0)
    // Room again once connections close: a newcomer gets in.
    await Promise.all(target.getConnections().map((c) => c.close()))
    const late = await node(100)
    nodes.push(late)
    await expect(late.dial(addr)).resolves.toBeDefined()
  }, 60_000)
})
