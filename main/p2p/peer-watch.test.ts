import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { freePort } from '../../test/helpers/processes.js'
import { silentLogger } from '../telemetry/index.js'
import { type Libp2pNode, createNode } from './libp2p.js'
import { PeerUnreachableError, PeerWatch } from './peer-watch.js'
import { TEST_LIMITS } from './messaging/test/fixtures.js'

/** Real nodes on 127.0.0.1; "away" is a node stopped, its port refusing; "back" is the same identity on the same port. */
describe('PeerWatch', () => {
  const nodes: Libp2pNode[] = []
  const watches: PeerWatch[] = []
  afterEach(async () => {
    vi.useRealTimers()
    for (const w of watches.splice(0)) await w.stop()
    for (const n of nodes.splice(0)) await n.stop()
  })

  async function node(privateKey?: PrivateKey, port = 0): Promise<Libp2pNode> {
    const n = await createNode({ privateKey: privateKey ?? (await generateKeyPair('Ed25519')), listen: [`/ip4/127.0.0.1/tcp/${port}`], limits: TEST_LIMITS, mdns: false, pubsub: false })
    await n.start()
    nodes.push(n)
    return n
  }

  it('a peer whose port refuses is unreachable within milliseconds; a wanted one is found again soon after it is back', async () => {
    const a = await node()
    const key = await generateKeyPair('Ed25519')
    const port = await freePort()
    const b = await node(key, port)
    const bId = b.peerId.toString()
    await a.dial(b.getMultiaddrs()[0]!)
    const watch = new PeerWatch({ libp2p: a, logger: silentLogger }, { baseDelayMs: 200, maxDelayMs: 1_000 })
    watches.push(watch)
    await watch.start()
    expect(watch.reachability(bId).reachability).toBe('connected')
    const changes: number[] = []
    watch.onChange(() => changes.push(Date.now()))

    await b.stop()
    await waitFor(() => !watch.isConnected(bId))
    const started = performance.now()
    const err = await watch.probe(bId).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PeerUnreachableError)
    expect((err as PeerUnreachableError).details).toMatchObject({ peerId: bId, reachable: false })
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(watch.reachability(bId)).toMatchObject({ reachability: 'unreachable', unreachable: { reason: expect.any(String) as string } })
    expect(changes.length).toBeGreaterThan(0)

    // Wanted while away: tried again with backoff; the identity back on its port is reached by us.
    const back: string[] = []
    watch.onReachable((id) => back.push(id))
    let tries = 0
    const dial = a.dial.bind(a)
    a.dial = ((...args: Parameters<typeof a.dial>) => {
      tries++
      return dial(...args)
    }) as typeof a.dial
    watch.want(bId, 'test')
    // A second try is made only once the first has failed: it is being tried again while away.
    await waitFor(() => tries >= 2)
    await node(key, port)
    await waitFor(() => back.includes(bId), 10_000)
    expect(watch.reachability(bId).reachability).toBe('connected')
  })

  it('released peers are not tried; stop releases every timer', async () => {
    const goneId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    // On a fake clock, against a node whose every dial is refused at once: the retry timers
    // are the whole story here, and the clock moves only as far as the test says.
    vi.useFakeTimers()
    let dials = 0
    const libp2p = Object.assign(new EventTarget(), {
      getConnections: () => [],
      dial: () => {
        dials++
        return Promise.reject(new Error('connect ECONNREFUSED'))
      },
    }) as unknown as Libp2pNode
    const watch = new PeerWatch({ libp2p, logger: silentLogger }, { baseDelayMs: 50, maxDelayMs: 100 })
    watches.push(watch)
    await watch.start()
    // Each try comes less than maxDelayMs (100) after the one before failed.
    watch.want(goneId, 'x')
    watch.want(goneId, 'y')
    await vi.advanceTimersByTimeAsync(100)
    expect(dials).toBeGreaterThanOrEqual(1)
    watch.release(goneId, 'x')
    const whileHeld = dials
    await vi.advanceTimersByTimeAsync(100)
    expect(dials).toBeGreaterThan(whileHeld)
    watch.release(goneId, 'y')
    // A try whose timer fired last in the advance may still be on its way (its dial's deadline
    // is a timer until the refusal comes back through a few awaits): let it come back first.
    await settleMicrotasks()
    // Nobody wants it any more: no timer is left, and ten retry periods later nothing was tried.
    expect(vi.getTimerCount()).toBe(0)
    const afterRelease = dials
    await vi.advanceTimersByTimeAsync(10 * 100)
    expect(dials).toBe(afterRelease)
    watch.want(goneId, 'z')
    expect(vi.getTimerCount()).toBe(1)
    await watch.stop()
    expect(vi.getTimerCount()).toBe(0)
  })
})

/** Runs every promise callback that is due (the fake clock does not hold them back). */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve()
}

async function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}
