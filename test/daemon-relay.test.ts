import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, metricSum, startDaemon, startDevnet, startRelay, tempDir, waitFor } from './helpers/processes.js'

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('daemon and relay, as real processes', () => {
  it('runs degraded without its relay, stays up, bounds attempts, and re-reserves every time the relay returns', async () => {
    const relayDir = tempDir()
    const daemonDir = tempDir()
    cleanups.push(relayDir.remove, daemonDir.remove)
    const port = await freePort()
    // Learn the relay's address (its identity persists in its data dir), then take it down.
    let relay: RelayProc = await startRelay(relayDir.path, port)
    const relayAddr = relay.multiaddr
    expect(relayAddr).toMatch(new RegExp(`^/ip4/127.0.0.1/tcp/${port}/p2p/12D3Koo`))
    expect(await relay.kill()).toBe(0)

    const spawnedAt = Date.now()
    const daemon: DaemonProc = await startDaemon(daemonDir.path, ['--relay', relayAddr, '--chain-url', devnet.url])
    cleanups.push(() => daemon.kill('SIGKILL'))
    const health = await daemon.health()
    const readyMs = Date.now() - spawnedAt
    expect(health.status).toBe('degraded')
    expect(['connecting', 'unavailable']).toContain(health.relay.state)
    expect(readyMs).toBeLessThan(15_000) // generous: catches a start that waits on the relay

    // A minute later the daemon is still alive and still answering, and the attempts are bounded.
    const aliveFor = 60_000
    const until = Date.now() + aliveFor
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5000))
      expect(daemon.child.exitCode).toBeNull()
      expect((await daemon.health()).status).toBe('degraded')
    }
    const metrics = await (await fetch(`${daemon.apiUrl}/metrics`)).text()
    const attempts = metricSum(metrics, 'bsv_p2p_relay_reservation_attempts_total')
    const elapsedS = (Date.now() - spawnedAt) / 1000
    expect(attempts).toBeGreaterThan(3)
    expect(attempts).toBeLessThanOrEqual(Math.ceil(elapsedS * 1.5) + 5) // about one per second at most

    // The relay comes back: the reservation arrives.
    relay = await startRelay(relayDir.path, port)
    await waitFor('reservation', async () => (await daemon.health()).relay.state === 'reserved', 20_000)
    expect((await daemon.health()).status).toBe('ok')

    // Killed and restarted (same identity, same port) many times, outages of different lengths.
    for (const outageMs of [200, 1500, 500, 3000, 100, 2000, 800, 4000]) {
      await relay.kill('SIGKILL')
      await waitFor('relay loss noticed', async () => (await daemon.health()).relay.state !== 'reserved', 20_000)
      await new Promise((r) => setTimeout(r, outageMs))
      relay = await startRelay(relayDir.path, port)
      await waitFor('reservation again', async () => (await daemon.health()).relay.state === 'reserved', 20_000)
      expect(daemon.child.exitCode).toBeNull()
    }
    cleanups.push(() => relay.kill('SIGKILL'))
    expect(await daemon.kill('SIGTERM')).toBe(0)
  }, 240_000)

  it('lets two daemons reach each other through the relay only', async () => {
    const relayDir = tempDir()
    const aDir = tempDir()
    const bDir = tempDir()
    cleanups.push(relayDir.remove, aDir.remove, bDir.remove)
    const relay = await startRelay(relayDir.path, await freePort())
    cleanups.push(() => relay.kill('SIGKILL'))
    const a = await startDaemon(aDir.path, ['--relay', relay.multiaddr, '--chain-url', devnet.url])
    const b = await startDaemon(bDir.path, ['--relay', relay.multiaddr, '--chain-url', devnet.url])
    cleanups.push(() => a.kill('SIGKILL'), () => b.kill('SIGKILL'))
    await waitFor('A reserved', async () => (await a.health()).relay.state === 'reserved', 20_000)
    const circuit = ((await a.health()).multiaddrs as string[]).find((m) => m.includes('/p2p-circuit/'))
    expect(circuit).toBeDefined()
    expect(circuit).toContain(`/p2p/${a.peerId}`)
    const res = await b.call<{ peerId: string; connection: string }>('connectPeer', { multiaddr: circuit })
    expect(res.status).toBe(200)
    expect(res.body.result?.peerId).toBe(a.peerId)
    expect(res.body.result?.connection).toBe('relayed')
    await waitFor('A lists B', async () => {
      const peers = (await a.call<{ peerId: string; connected: boolean }[]>('listPeers')).body.result ?? []
      return peers.some((p) => p.peerId === b.peerId && p.connected)
    })
    expect(await a.kill('SIGTERM')).toBe(0)
    expect(await b.kill('SIGTERM')).toBe(0)
  }, 120_000)
})
