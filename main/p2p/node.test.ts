import { statSync } from 'node:fs'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ContractError, PeerSchema } from '../../shared/contract/index.js'
import { EngineConfigSchema } from '../config/schema.js'
import { Metrics } from '../telemetry/metrics.js'
import { peerHandlers } from './handlers.js'
import { IDENTITY_FILE, loadOrCreateIdentity } from './identity.js'
import { createNode, type Libp2pNode } from './libp2p.js'
import { assessHealth } from '../engine/health.js'
import { ListenError, listenAddresses, missingListeners, p2pInitFromConfig, type P2PChange, type P2PNode } from './node.js'
import { freePort, makeNode, TempDirs, waitFor, watchWarnings } from './test/helpers.js'

const dirs = new TempDirs()
const nodes: P2PNode[] = []
const raw: Libp2pNode[] = []

afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
  await Promise.allSettled(raw.splice(0).map((n) => n.stop()))
})
afterAll(() => dirs.cleanup())

function started(node: P2PNode): P2PNode {
  nodes.push(node)
  return node
}

function tcpAddress(node: P2PNode): string {
  const addr = node.multiaddrs().find((ma) => /\/tcp\/\d+\/p2p\//.test(ma))
  if (!addr) throw new Error('node has no tcp address')
  return addr
}

function errorCode(err: unknown): string | undefined {
  return err instanceof ContractError ? err.code : undefined
}

describe('listen addresses and config', () => {
  it('derives tcp, ws only when asked, and one relay slot per configured relay', () => {
    expect(listenAddresses({ host: '0.0.0.0', port: 4001, wsPort: null, relays: [] })).toEqual(['/ip4/0.0.0.0/tcp/4001'])
    const relay = '/ip4/10.0.0.1/tcp/4003/p2p/12D3KooWH43aujEsmJkETZPzQem7cYfSRQUS313FiRTpgkGziPys'
    const relays = [relay, relay.replace('10.0.0.1', '10.0.0.2'), '/ip4/10.0.0.3/tcp/1', 'nonsense']
    expect(listenAddresses({ host: '::', port: 0, wsPort: 0, relays })).toEqual(['/ip6/::/tcp/0', '/ip6/::/tcp/0/ws', '/p2p-circuit', '/p2p-circuit'])
    expect(listenAddresses({ host: 'localhost', port: 5000, wsPort: 6000, relays: [] })).toEqual(['/ip4/127.0.0.1/tcp/5000', '/ip4/127.0.0.1/tcp/6000/ws'])
    expect(() => listenAddresses({ host: 'example.com', port: 1, wsPort: null, relays: [] })).toThrow(/IPv4 or IPv6/)
  })

  it('builds its init from the engine config', () => {
    const config = EngineConfigSchema.parse({ dataDir: '/tmp/x', p2p: { relays: ['/ip4/1.2.3.4/tcp/1/p2p/abc'] } })
    const init = p2pInitFromConfig(config)
    expect(init).toMatchObject({ dataDir: '/tmp/x', port: 4001, wsPort: null, relays: ['/ip4/1.2.3.4/tcp/1/p2p/abc'], mdns: true })
    expect(init.limits.peerDirectoryMax).toBe(1000)
    expect(init.relayKeeper).toEqual(config.relayKeeper)
  })
})

describe('P2PNode', () => {
  it('persists its identity (0600) and restarts 20 times without leaking listeners, timers or handles', async () => {
    const warnings = watchWarnings()
    const dir = dirs.make()
    // A dead relay keeps the keeper's timers busy across the restarts.
    const deadRelayId = (await loadOrCreateIdentity(dirs.make())).publicKey
    const { peerIdFromPublicKey } = await import('@libp2p/peer-id')
    const deadRelay = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerIdFromPublicKey(deadRelayId).toString()}`
    const node = started(makeNode(dir, { relays: [deadRelay], pubsub: true }))
    const processListeners = (): Record<string, number> => Object.fromEntries(process.eventNames().map((e) => [String(e), process.listenerCount(e)]))

    await node.start()
    const peerId = node.peerId
    expect(statSync(join(dir, IDENTITY_FILE)).mode & 0o777).toBe(0o600)
    await node.stop()
    const listenersBefore = processListeners()
    const resourcesBefore = process.getActiveResourcesInfo().length

    for (let i = 0; i < 20; i++) {
      await node.start()
      expect(node.peerId).toBe(peerId)
      expect(node.heldDisposables).toBeGreaterThan(0)
      await node.stop()
      expect(node.heldDisposables).toBe(0)
      expect(() => node.libp2p).toThrow(/not running/)
    }
    expect(processListeners()).toEqual(listenersBefore)
    // Closed sockets and cleared timers may take a tick to leave the list; nothing may pile up.
    await waitFor(() => process.getActiveResourcesInfo().length <= resourcesBefore + 2, 'handles to be released', 5000)
    expect(node.relayHealth().state).toBe('unavailable')
    warnings.stop()
    expect(warnings.warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('connects to peers, tracks them in the directory and tells subscribers', async () => {
    const metrics = new Metrics()
    const a = started(makeNode(dirs.make(), {}, { metrics }))
    const b = started(makeNode(dirs.make()))
    await Promise.all([a.start(), b.start()])
    const changes: P2PChange[] = []
    const unsubscribe = a.subscribe((c) => changes.push(c))
    const handlers = peerHandlers(a)

    await expect(handlers.connectPeer({ multiaddr: tcpAddress(b) })).resolves.toEqual({ peerId: b.peerId, connection: 'direct' })
    expect(a.connectionCount()).toBe(1)
    await waitFor(() => changes.includes('peers'), 'a peers change')
    const peers = await handlers.listPeers({})
    expect(peers).toHaveLength(1)
    expect(PeerSchema.parse(peers[0])).toMatchObject({ peerId: b.peerId, connected: true, connection: 'direct' })
    // Identify fills in the peer's listen addresses.
    await waitFor(() => (a.directory.get(b.peerId)?.multiaddrs.length ?? 0) > 0, 'identify to fill multiaddrs')
    const text = await metrics.text()
    expect(text).toMatch(/^bsv_p2p_connections 1$/m)
    expect(text).toMatch(/^bsv_p2p_peers 1$/m)

    await b.stop()
    await waitFor(() => a.directory.get(b.peerId)?.connected === false, 'the disconnect to be recorded')
    expect((await handlers.listPeers({}))[0]).toMatchObject({ peerId: b.peerId, connected: false, connection: 'none' })
    unsubscribe()
  })

  it('refuses bad addresses and failed dials with typed errors', async () => {
    const a = started(makeNode(dirs.make(), { connectTimeoutMs: 3000 }))
    await expect(a.connect('/ip4/127.0.0.1/tcp/1')).rejects.toSatisfy((e) => errorCode(e) === 'unavailable')
    await a.start()
    await expect(a.connect('not a multiaddr')).rejects.toSatisfy((e) => errorCode(e) === 'invalid_params')
    await expect(a.connect(tcpAddress(a))).rejects.toSatisfy((e) => errorCode(e) === 'invalid_params')
    const closed = await freePort()
    const err = await a.connect(`/ip4/127.0.0.1/tcp/${closed}`).catch((e: unknown) => e)
    expect(errorCode(err)).toBe('unavailable')
    expect((err as Error).message).toMatch(/could not connect/)
  })

  it('keeps at most maxConnections when 15 peers dial in', async () => {
    const target = started(makeNode(dirs.make(), { limits: { maxConnections: 5, inboundConnectionThreshold: 100, maxIncomingPendingConnections: 20, peerDirectoryMax: 1000, peerDirectoryTtlMs: 3_600_000 } }))
    await target.start()
    const address = tcpAddress(target)
    const dialers = await Promise.all(
      Array.from({ length: 15 }, async () => {
        const node = await createNode({
          privateKey: await loadOrCreateIdentity(dirs.make()),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          limits: { maxConnections: 10, inboundConnectionThreshold: 10, maxIncomingPendingConnections: 10 },
          mdns: false,
          pubsub: false,
        })
        raw.push(node)
        await node.start()
        return node
      }),
    )
    const { multiaddr } = await import('@multiformats/multiaddr')
    const results = await Promise.allSettled(dialers.map((d) => d.dial(multiaddr(address), { signal: AbortSignal.timeout(10_000) })))
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
    // Inbound connections are refused at the limit, and any that slipped in while others
    // were still upgrading are pruned back to it.
    await waitFor(() => target.connectionCount() <= 5, 'the pruner to enforce maxConnections', 10_000)
    expect(target.connectionCount()).toBeGreaterThan(0)
    const connectedDialers = (): number => dialers.filter((d) => d.getConnections().some((c) => c.remotePeer.toString() === target.peerId)).length
    await waitFor(() => connectedDialers() <= 5, 'dialers to see the limit', 10_000)
    expect(connectedDialers()).toBeGreaterThan(0)
    process.stderr.write(`maxConnections 5: ${results.filter((r) => r.status === 'fulfilled').length}/15 dials succeeded, ${target.connectionCount()} kept\n`)
  })
})

describe('listeners that cannot bind', () => {
  const holders: Server[] = []
  afterEach(async () => {
    await Promise.all(holders.splice(0).map((s) => new Promise((r) => s.close(r))))
  })

  /** A port another program holds, as it would. */
  async function heldPort(): Promise<number> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    holders.push(server)
    return (server.address() as AddressInfo).port
  }

  it('names what did not bind, from what did', () => {
    expect(missingListeners({ port: 4001, wsPort: null }, ['/ip4/127.0.0.1/tcp/4001'])).toEqual([])
    expect(missingListeners({ port: 4001, wsPort: 4005 }, ['/ip4/127.0.0.1/tcp/4001'])).toEqual([{ key: 'p2p.wsPort', flag: '--ws-port', port: 4005 }])
    expect(missingListeners({ port: 4001, wsPort: null }, ['/ip4/127.0.0.1/tcp/40011', '/ip4/127.0.0.1/tcp/4001/ws'])).toEqual([{ key: 'p2p.port', flag: '--p2p-port', port: 4001 }])
    expect(missingListeners({ port: 0, wsPort: 0 }, ['/ip4/127.0.0.1/tcp/51000', '/ip4/127.0.0.1/tcp/51001/ws'])).toEqual([])
    expect(missingListeners({ port: 0, wsPort: null }, [])).toEqual([{ key: 'p2p.port', flag: '--p2p-port', port: 0 }])
  })

  it('a P2P port another program holds stops start, naming the option, and leaves nothing running', async () => {
    const port = await heldPort()
    const node = makeNode(dirs.make(), { port })
    const err = await node.start().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ListenError)
    expect((err as Error).message).toBe(`could not listen on --p2p-port ${port} (p2p.port): the port is in use or not allowed; free it, pick another, or start with --listen-best-effort`)
    expect(node.isRunning).toBe(false)
  })

  it('with best effort the node runs without it, and health says so (never ok with no listen address)', async () => {
    const port = await heldPort()
    const node = started(makeNode(dirs.make(), { port, listenBestEffort: true }))
    await node.start()
    expect(node.missingListeners()).toEqual([{ key: 'p2p.port', flag: '--p2p-port', port }])
    expect(node.listening()).toEqual([])
    const health = assessHealth({ running: true, relay: { state: 'disabled', relays: [] }, listeners: { bound: node.listening().length, missing: node.missingListeners() } })
    expect(health.status).toBe('degraded')
    expect(health.reasons).toEqual([`not listening on --p2p-port ${port} (p2p.port): the port is in use or not allowed`, 'not listening on any address: peers can reach this node only through the relay'])
    // The WebSocket listener binds when asked, on its own port.
    const ws = started(makeNode(dirs.make(), { port: 0, wsPort: 0 }))
    await ws.start()
    expect(ws.missingListeners()).toEqual([])
    expect(ws.listening().some((a) => a.includes('/ws'))).toBe(true)
  })
})
