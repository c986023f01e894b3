import { describe, expect, it } from 'vitest'
import type { Envelope } from '../../../shared/contract/errors.js'
import type { Health, Peer } from '../../../shared/contract/index.js'
import { connect } from '../client/index.js'
import { type ConnectionState, EventRouter, Listeners, type Transport } from '../client/transport.js'
import { createAppStore, startSync } from './index.js'

const health = (peerId: string): Health => ({
  status: 'ok',
  reasons: [],
  version: '0.1.0',
  peerId,
  uptimeSeconds: 1,
  relay: { state: 'disabled', relays: [] },
  connections: 0,
  peers: 0,
  multiaddrs: [],
  memory: { rss: 1, heapUsed: 1 },
})
const peer = (peerId: string): Peer => ({ peerId, services: [], multiaddrs: [], connected: true, connection: 'direct', reachability: 'connected', source: 'manual', lastSeen: new Date(0).toISOString() })
const limits = { maxConnections: 100, inboundConnectionThreshold: 5, maxIncomingPendingConnections: 10, peerDirectoryMax: 1000, peerDirectoryTtlMs: 3_600_000 }
const settings = {
  network: 'devnet', dataDir: '/d', logLevel: 'info', p2p: { host: 'h', port: 1, relays: [], announce: [], mdns: false }, limits,
  editable: { configFile: '/d/config.json', fixed: [], next: { relays: [], limits } },
}

/** A transport whose answers the test releases by hand, to order snapshots and events at will. */
function manualTransport() {
  const router = new EventRouter()
  const states = new Listeners<[ConnectionState]>()
  let state: ConnectionState = 'connecting'
  const pending: { method: string; resolve: (e: Envelope<unknown>) => void }[] = []
  const calls: string[] = []
  const transport: Transport = {
    call: (method) =>
      new Promise((resolve) => {
        calls.push(method)
        pending.push({ method, resolve })
      }),
    on: (event, l) => router.on(event, l),
    onState: (l) => {
      l(state)
      return states.add(l)
    },
    close: () => {},
  }
  const answer = (method: string, envelope: Envelope<unknown>): void => {
    const i = pending.findIndex((p) => p.method === method)
    if (i < 0) throw new Error(`no pending ${method}`)
    pending.splice(i, 1)[0]!.resolve(envelope)
  }
  return {
    transport,
    calls,
    answer,
    emit: (event: string, payload: unknown) => router.emit(event, payload),
    setState: (s: ConnectionState) => {
      state = s
      states.emit(s)
    },
    listeners: () => router.size,
    pending: () => pending.map((p) => p.method),
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0))

/** Valid empty snapshots of the domains these tests do not look at. */
const OTHER_SNAPSHOTS: Record<string, unknown> = {
  listChannels: [],
  getProfile: { name: null, services: [] },
  getWallet: { network: 'devnet', address: 'mx', balance: { confirmed: 0, unconfirmed: 0 }, ready: true },
  listConversations: [],
  getUnread: { total: 0, byPeer: {} },
  listContacts: [],
}
const answerOthers = (t: ReturnType<typeof manualTransport>): void => {
  for (const [method, result] of Object.entries(OTHER_SNAPSHOTS)) while (t.pending().includes(method)) t.answer(method, { ok: true, result })
}

describe('app store sync', () => {
  it('loads snapshots on open, drops one overtaken by an event, resyncs on reconnect, and unsubscribes', async () => {
    const t = manualTransport()
    const store = createAppStore()
    const stop = startSync(store, connect(t.transport))
    expect(t.calls).toEqual([])
    t.setState('open')
    expect(t.calls).toEqual(expect.arrayContaining(['getHealth', 'getSettings', 'listPeers']))
    // Before any snapshot nothing counts as loaded: an empty list means "loading", not "none".
    expect(store.getState().loaded).toEqual({})
    answerOthers(t)
    await tick()
    expect(store.getState().loaded).toMatchObject({ channels: true, wallet: true })
    expect(store.getState().loaded.peers).toBeUndefined()
    // A peers event arrives while listPeers is in flight: the older snapshot must not win.
    t.emit('peers', [peer('12D3KooWEventPeer')])
    t.answer('listPeers', { ok: true, result: [] })
    t.answer('getHealth', { ok: true, result: health('A') })
    t.answer('getSettings', { ok: false, error: { code: 'unavailable', message: 'settings are away' } })
    await tick()
    const s = store.getState()
    expect(s.ready).toBe(true)
    expect(s.peers.map((p) => p.peerId)).toEqual(['12D3KooWEventPeer'])
    expect(s.health?.peerId).toBe('A')
    expect(s.loadErrors.settings).toBe('Settings are away')
    // The overtaken peers snapshot still counts as arrived; the refused settings one does not.
    expect(s.loaded.peers).toBe(true)
    expect(s.loaded.health).toBe(true)
    expect(s.loaded.settings).toBeUndefined()

    // A malformed event is dropped by the schema check.
    t.emit('health', { status: 'bogus' })
    expect(store.getState().health?.peerId).toBe('A')

    t.setState('reconnecting')
    expect(store.getState().connection).toBe('reconnecting')
    t.setState('open')
    expect(store.getState().ready).toBe(false)
    // Reconnecting keeps what was loaded: last known data, not a loading state.
    expect(store.getState().loaded.peers).toBe(true)
    t.answer('getSettings', { ok: true, result: settings })
    t.answer('getHealth', { ok: true, result: health('B') })
    t.answer('listPeers', { ok: true, result: [peer('12D3KooWSnapshotPeer')] })
    answerOthers(t)
    await tick()
    expect(store.getState().health?.peerId).toBe('B')
    expect(store.getState().peers[0]!.peerId).toBe('12D3KooWSnapshotPeer')
    expect(store.getState().loadErrors).toEqual({})

    stop()
    expect(t.listeners()).toBe(0)
    t.emit('health', health('C'))
    expect(store.getState().health?.peerId).toBe('B')
  })

  it('merges a channel snapshot overtaken by a channel event instead of dropping it', async () => {
    const t = manualTransport()
    const store = createAppStore()
    startSync(store, connect(t.transport))
    t.setState('open')
    const ch = (id: string, seq: number, createdMs: number) => ({
      id: id.repeat(32), peerId: '12D3KooWPeer', role: 'payer', state: 'open', capacitySats: 10_000, paidSats: seq * 10, seq, expiry: 200, settlementFeeSats: 20,
      fundingTxid: null, step: null, failure: null, problem: null, fundingConfirmations: null, requiredConfirmations: null, settlementTxid: null, refundTxid: null, archivedAt: null, createdAt: new Date(createdMs).toISOString(), updatedAt: new Date(createdMs).toISOString(),
    })
    t.emit('channels', ch('a', 5, 2000))
    t.answer('listChannels', { ok: true, result: [ch('a', 3, 2000), ch('b', 0, 1000)] })
    for (const m of ['getHealth', 'listPeers', 'getSettings']) t.answer(m, { ok: false, error: { code: 'unavailable', message: 'later' } })
    answerOthers(t)
    await tick()
    const channels = store.getState().channels
    expect(channels.map((c) => [c.id[0], c.seq])).toEqual([
      ['a', 5],
      ['b', 0],
    ])
    t.emit('channels', ch('a', 6, 2000))
    expect(store.getState().channels[0]!.seq).toBe(6)
  })

  it('keeps a profile or settings event that overtook its snapshot', async () => {
    const t = manualTransport()
    const store = createAppStore()
    startSync(store, connect(t.transport))
    t.setState('open')
    t.emit('profile', { name: 'From the event', services: [] })
    t.emit('settings', { ...settings, logLevel: 'debug' })
    t.answer('getSettings', { ok: true, result: settings })
    t.answer('getProfile', { ok: true, result: { name: 'Stale snapshot', services: [] } })
    for (const m of ['getHealth', 'listPeers']) t.answer(m, { ok: false, error: { code: 'unavailable', message: 'later' } })
    answerOthers(t)
    await tick()
    expect(store.getState().profile?.name).toBe('From the event')
    expect(store.getState().settings?.logLevel).toBe('debug')
    t.emit('profile', { name: 'Newer', services: [{ name: 'coffee', priceSats: 500 }] })
    expect(store.getState().profile).toEqual({ name: 'Newer', services: [{ name: 'coffee', priceSats: 500 }] })
  })

  it('loads every snapshot again when the node restarts in place', async () => {
    const t = manualTransport()
    const store = createAppStore()
    startSync(store, connect(t.transport))
    t.setState('open')
    t.answer('getSettings', { ok: true, result: settings })
    for (const m of ['getHealth', 'listPeers']) t.answer(m, { ok: true, result: m === 'getHealth' ? health('A') : [] })
    answerOthers(t)
    await tick()
    expect(store.getState().ready).toBe(true)
    const before = t.calls.length

    t.emit('restarted', { peerId: 'A', startedAt: new Date(0).toISOString() })
    expect(store.getState().ready).toBe(false)
    expect(t.calls.slice(before)).toEqual(expect.arrayContaining(['getHealth', 'listPeers', 'getSettings', 'getProfile', 'listChannels']))
    t.answer('getSettings', { ok: true, result: { ...settings, limits: { ...limits, maxConnections: 7 } } })
    t.answer('getHealth', { ok: true, result: health('A') })
    t.answer('listPeers', { ok: true, result: [] })
    answerOthers(t)
    await tick()
    expect(store.getState().ready).toBe(true)
    expect(store.getState().settings?.limits.maxConnections).toBe(7)
  })

  it('flags a refused token so the web UI can return to its login page', async () => {
    const t = manualTransport()
    const store = createAppStore()
    startSync(store, connect(t.transport))
    t.setState('open')
    for (const m of ['getHealth', 'listPeers', 'getSettings']) t.answer(m, { ok: false, error: { code: 'unauthorized', message: 'no' } })
    await tick()
    expect(store.getState().unauthorized).toBe(true)
  })
})
