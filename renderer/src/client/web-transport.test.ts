import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { validateConfig } from '../../../main/config/index.js'
import { Daemon } from '../../../main/daemon/daemon.js'
import { ContractError, type Health } from '../../../shared/contract/index.js'
import { freePort, tempDir, waitFor } from '../../../test/helpers/processes.js'
import { createAppStore, startSync } from '../store/index.js'
import { type ConnectionState, connect, reconnectDelay, webTransport } from './index.js'

let daemon: Daemon
let dir: { path: string; remove: () => void }
let token: string
const opened: { close: () => void }[] = []

function open(tokenValue = token, baseUrl = daemon.api.url) {
  const transport = webTransport({ baseUrl, token: tokenValue, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, baseDelayMs: 20, maxDelayMs: 200 })
  opened.push(transport)
  return connect(transport)
}

beforeAll(async () => {
  dir = tempDir()
  const port = await freePort()
  daemon = new Daemon(validateConfig({ dataDir: dir.path, network: 'devnet', logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false }, api: { port } }))
  await daemon.start()
  token = readFileSync(join(dir.path, 'api-token'), 'utf8').trim()
})

afterAll(async () => {
  for (const t of opened) t.close()
  await daemon.stop()
  dir.remove()
})

describe('web transport against a real daemon', () => {
  it('calls methods by name from the contract, with typed results', async () => {
    const { api } = open()
    expect((await api.getHealth()).peerId).toBe(daemon.engine.p2p.peerId)
    expect(await api.listPeers()).toEqual([])
    expect((await api.getSettings()).network).toBe('devnet')
  })

  it('turns refusals into ContractError with the code and a message', async () => {
    const wrong = await open('x'.repeat(token.length)).api.getHealth().catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(ContractError)
    expect((wrong as ContractError).code).toBe('unauthorized')
    const bad = await open().api.connectPeer({ multiaddr: 'nope' }).catch((e: unknown) => e)
    expect((bad as ContractError).code).toBe('invalid_params')
    expect((bad as ContractError).message).toMatch(/multiaddr/)
    const port = await freePort()
    const gone = await open(token, `http://127.0.0.1:${port}`).api.getHealth().catch((e: unknown) => e)
    expect((gone as ContractError).code).toBe('unavailable')
  })

  it('streams events, reconnects after the server goes away, and the store resyncs', async () => {
    const connection = open()
    const states: ConnectionState[] = []
    const healths: Health[] = []
    connection.events.onState((s) => states.push(s))
    connection.events.on('health', (h) => healths.push(h))
    const store = createAppStore()
    const stop = startSync(store, connection)
    await waitFor('first health event and snapshots', () => healths.length > 0 && store.getState().ready, 10_000)
    expect(store.getState().health?.peerId).toBe(daemon.engine.p2p.peerId)
    expect(store.getState().settings?.network).toBe('devnet')

    await daemon.api.stop()
    await waitFor('reconnecting', () => store.getState().connection === 'reconnecting', 10_000)
    const before = healths.length
    await daemon.api.start()
    await waitFor('reopened and resynced', () => store.getState().connection === 'open' && store.getState().ready && healths.length > before, 10_000)
    expect(states).toEqual(expect.arrayContaining(['connecting', 'open', 'reconnecting']))
    expect(states.at(-1)).toBe('open')

    // Events after the reconnect still reach the store. The engine's own interval health
    // event may replace the marker a moment later, so watch every state, not just the last.
    let sawMarker = false
    const unwatch = store.subscribe((s) => {
      if (s.health?.reasons[0] === 'marker') sawMarker = true
    })
    daemon.engine.events.emit('peers', [])
    daemon.engine.events.emit('health', { ...daemon.engine.health(), reasons: ['marker'] })
    await waitFor('event after reconnect', () => sawMarker, 10_000)
    unwatch()
    stop()
  })

  it('stops reconnecting once closed', async () => {
    const connection = open()
    const seen: { state: ConnectionState | null } = { state: null }
    const off = connection.events.onState((s) => (seen.state = s))
    await waitFor('open', () => seen.state === 'open')
    off()
    connection.transport.close()
    connection.events.onState((s) => (seen.state = s))
    // That no socket is opened again afterwards is checked on a fake clock below.
    expect(seen.state).toBe('closed')
  })

  it('spreads reconnect delays with full jitter under a cap', () => {
    expect(reconnectDelay(0, 250, 5000, () => 1)).toBe(250)
    expect(reconnectDelay(3, 250, 5000, () => 1)).toBe(2000)
    expect(reconnectDelay(30, 250, 5000, () => 1)).toBe(5000)
    expect(reconnectDelay(30, 250, 5000, () => 0)).toBe(0)
  })
})

describe('web transport reconnects, on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** Sockets the transport makes, driven by hand: the test says when one opens or drops. */
  function fakeSockets() {
    const sockets: { onopen: ((ev: unknown) => void) | null; onclose: ((ev: unknown) => void) | null; closedByUs: boolean }[] = []
    class FakeSocket {
      onopen: ((ev: unknown) => void) | null = null
      onclose: ((ev: unknown) => void) | null = null
      onerror: ((ev: unknown) => void) | null = null
      onmessage: ((ev: { data: unknown }) => void) | null = null
      closedByUs = false
      constructor() {
        sockets.push(this)
      }
      close(): void {
        this.closedByUs = true
      }
    }
    return { sockets, WebSocket: FakeSocket as unknown as typeof globalThis.WebSocket }
  }

  it('reconnects after the backoff delay, and never again once closed', () => {
    vi.useFakeTimers()
    const { sockets, WebSocket } = fakeSockets()
    // Jitter at its top: each delay is exactly its ceiling (20 ms, then 40 ms, ...).
    const transport = webTransport({ baseUrl: 'http://127.0.0.1:1', token: 't', WebSocket, baseDelayMs: 20, maxDelayMs: 200, random: () => 1 })
    expect(sockets).toHaveLength(1)
    sockets[0]!.onopen?.({})
    sockets[0]!.onclose?.({})
    vi.advanceTimersByTime(19)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    // Dropped again, then closed while the next try waits: that try never comes.
    sockets[1]!.onclose?.({})
    expect(vi.getTimerCount()).toBe(1)
    transport.close()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 200)
    expect(sockets).toHaveLength(2)
  })

  it('closed while open: its socket is closed, and that close brings no reconnect', () => {
    vi.useFakeTimers()
    const { sockets, WebSocket } = fakeSockets()
    const transport = webTransport({ baseUrl: 'http://127.0.0.1:1', token: 't', WebSocket, baseDelayMs: 20, maxDelayMs: 200, random: () => 1 })
    sockets[0]!.onopen?.({})
    transport.close()
    expect(sockets[0]!.closedByUs).toBe(true)
    sockets[0]!.onclose?.({})
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 200)
    expect(sockets).toHaveLength(1)
  })
})
