// Opening a channel to a peer that cannot be reached, through a whole engine (real libp2p
// on 127.0.0.1, real SQLite, a devnet): the answer is `unavailable` in words, and nothing is
// left behind — no channel, no peer directory entry, no coin reserved.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractError } from '../../shared/contract/index.js'
import { tempDir } from '../../test/helpers/processes.js'
import type { DevnetServer } from '../chain/devnet/devnet-server.js'
import { validateConfig } from '../config/index.js'
import { Engine } from '../engine/engine.js'
import { silentLogger } from '../telemetry/index.js'
import { startDevnet, waitUntil } from './test/harness.js'

describe('openChannel to a peer that cannot be reached', () => {
  let devnet: DevnetServer
  const cleanups: (() => Promise<void> | void)[] = []

  async function engineIn(): Promise<Engine> {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const engine = new Engine({
      config: validateConfig({ dataDir: dir.path, network: 'devnet', chainUrl: devnet.url, logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false }, channels: { reachTimeoutMs: 1_500 } }),
      logger: silentLogger,
    })
    await engine.start()
    cleanups.push(() => engine.stop())
    return engine
  }

  beforeAll(async () => {
    devnet = await startDevnet()
  })

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    await devnet?.stop()
  })

  it('answers unavailable in words; no channel, no directory entry, no coins reserved', async () => {
    const a = await engineIn()
    const { address } = await a.handlers.getWallet({})
    await devnet.faucet(address, 300_000)
    await a.wallet.sync()
    await waitUntil(async () => (await a.handlers.getWallet({})).balance.unconfirmed + (await a.handlers.getWallet({})).balance.confirmed === 300_000, 5_000, 'funded')

    // One peer never seen anywhere (no address known), and one seen, then gone (its port refuses).
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const b = await engineIn()
    const bId = b.p2p.peerId
    await a.handlers.connectPeer({ multiaddr: b.p2p.multiaddrs().find((m) => m.includes('/tcp/') && !m.includes('/ws'))! })
    await waitUntil(async () => (await a.handlers.listPeers({})).some((p) => p.peerId === bId && p.connected), 5_000, 'b connected')
    await b.stop()
    await waitUntil(async () => !(await a.handlers.listPeers({})).some((p) => p.peerId === bId && p.connected), 5_000, 'b gone')

    const walletBefore = await a.handlers.getWallet({})
    const spendableBefore = (await a.handlers.previewSend({ max: true })).spendableSats
    const peersBefore = (await a.handlers.listPeers({})).map((p) => p.peerId).sort()
    const channelEvents: unknown[] = []
    const off = a.events.on('channels', (c) => channelEvents.push(c))

    for (const peerId of [stranger, bId]) {
      const started = performance.now()
      const err = await a.handlers.openChannel({ peerId, capacitySats: 50_000, idempotencyKey: `open-${peerId.slice(-12)}` }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ContractError)
      const refusal = err as ContractError
      expect(refusal.code).toBe('unavailable')
      expect(refusal.message).toMatch(/^That peer could not be reached/)
      // The words are ours: libp2p's own text stays in the details (and the logs).
      expect(refusal.message).not.toMatch(/dial|multiaddr|valid addresses|ECONNREFUSED/i)
      expect(refusal.details).toMatchObject({ peerId, reachable: false, reason: expect.any(String) as string })
      expect(performance.now() - started).toBeLessThan(2_500)
    }

    // No wait is needed before the negative checks: libp2p writes what could add a directory
    // entry (a failed dial in its peer store, which fires peer:discovery) before the dial
    // rejects, so before the open is answered; the directory judges that event synchronously
    // (the next test). The stranger, with no address, never reached the peer store at all.
    expect([...(await a.p2p.libp2p.peerStore.get(peerIdFromString(bId))).metadata.keys()]).toContain('last-dial-failure')
    expect(await a.p2p.libp2p.peerStore.has(peerIdFromString(stranger))).toBe(false)
    off()
    expect(await a.handlers.listChannels({})).toEqual([])
    expect(await a.handlers.listChannels({ archived: true })).toEqual([])
    expect(channelEvents).toEqual([])
    expect((await a.handlers.listPeers({})).map((p) => p.peerId).sort()).toEqual(peersBefore)
    expect(peersBefore).not.toContain(stranger)
    expect((await a.handlers.getWallet({})).balance).toEqual(walletBefore.balance)
    expect((await a.handlers.previewSend({ max: true })).spendableSats).toBe(spendableBefore)
  }, 60_000)

  it('a failed dial recorded in libp2p\'s peer store (it fires peer:discovery) adds no directory entry', async () => {
    const a = await engineIn()
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const discovered: string[] = []
    const onDiscovery = (evt: CustomEvent<{ id: { toString(): string } }>): void => {
      discovered.push(evt.detail.id.toString())
    }
    a.p2p.libp2p.addEventListener('peer:discovery', onDiscovery)
    // What libp2p's dial queue writes after a failed dial to a peer it did not know.
    await a.p2p.libp2p.peerStore.merge(stranger, { metadata: { 'last-dial-failure': new TextEncoder().encode(String(Date.now())) } })
    await waitUntil(() => discovered.includes(stranger.toString()), 2_000, 'peer:discovery fired')
    a.p2p.libp2p.removeEventListener('peer:discovery', onDiscovery)
    // The node's listener was added at its start, before ours, and an event target calls its
    // listeners in order, synchronously: it has judged this event, so no wait is needed.
    expect((await a.handlers.listPeers({})).map((p) => p.peerId)).not.toContain(stranger.toString())
  })
})
