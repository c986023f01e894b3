// An offline peer costs the caller no waiting, with real daemons on a real devnet: the
// payee's process is killed (its port refuses at once), then every call about it answers
// at once: sendMessage is kept (pending) and delivered after the payee's restart, pay is
// refused with nothing signed, closeChannel explains the refund. The same through a relay
// whose reservation for the payee is gone. A pending message past its expiry fails.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundWallet, ok } from './helpers/devnet-daemons.js'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, startDaemon, startDevnet, startRelay, tempDir, waitFor } from './helpers/processes.js'

interface ChannelView {
  id: string
  state: string
  seq: number
  paidSats: number
  expiry: number
  payments: { seq: number }[]
}
interface MessageView {
  seq: number
  id: string
  text: string
  direction: 'in' | 'out'
  status: string
}
interface Failure {
  code: string
  message: string
  details?: Record<string, unknown>
}

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc

beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

function dataDir(config: object = {}): string {
  const dir = tempDir('bsv-p2p-offline-')
  cleanups.push(dir.remove)
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300 }, ...config }))
  return dir.path
}

async function daemon(dir: string, args: string[] = []): Promise<DaemonProc> {
  const d = await startDaemon(dir, ['--chain-url', devnet.url, ...args], {}, { logLevel: 'warn' })
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

/** A call that must fail: its error and how long the answer took (ms). */
async function refused(d: DaemonProc, method: string, params: unknown): Promise<{ error: Failure; ms: number }> {
  const started = performance.now()
  const res = await d.call(method, params)
  const ms = performance.now() - started
  expect(res.body.ok, `${method} should have been refused`).toBe(false)
  return { error: res.body.error as Failure, ms }
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await f()
  return { value, ms: performance.now() - started }
}

async function reachability(d: DaemonProc, peerId: string): Promise<string | undefined> {
  const peers = await ok<{ peerId: string; reachability: string }[]>(d, 'listPeers')
  return peers.find((p) => p.peerId === peerId)?.reachability
}

/**
 * With the payee B killed: every call about B answers at once, nothing is signed, the
 * message is kept; after B's restart (same identity, same port) the message arrives and
 * payments go on. Returns the figures for the report.
 */
async function payeeAway(a: DaemonProc, bDir: string, bArgs: string[], bStart: DaemonProc, channel: ChannelView): Promise<Record<string, number>> {
  let b = bStart
  await b.kill('SIGKILL')
  await waitFor('A sees B gone', async () => (await reachability(a, b.peerId)) !== 'connected', 20_000)

  const text = `while you were away ${Date.now()}`
  const sent = await timed(() => ok<{ id: string; seq: number; status: string }>(a, 'sendMessage', { peerId: b.peerId, text }))
  expect(sent.value.status).toBe('pending')
  expect(sent.ms).toBeLessThan(1_000)

  const pay = await refused(a, 'pay', { channelId: channel.id, sats: 100 })
  expect(pay.error.code).toBe('unavailable')
  expect(pay.error.details).toMatchObject({ peerId: b.peerId, reachable: false })
  expect(pay.ms).toBeLessThan(1_000)
  // Nothing signed: the payer's latest state is the one B acknowledged before it went away.
  const after = await ok<ChannelView>(a, 'getChannel', { channelId: channel.id })
  expect(after.payments[0]?.seq).toBe(channel.seq)

  const close = await refused(a, 'closeChannel', { channelId: channel.id })
  expect(close.error.code).toBe('unavailable')
  expect(close.error.details).toMatchObject({ refundHeight: channel.expiry, blocksLeft: expect.any(Number) as number, hoursLeft: expect.any(Number) as number })
  expect(close.error.message).toContain(`block ${channel.expiry}`)
  expect(close.ms).toBeLessThan(1_000)
  expect((await ok<ChannelView>(a, 'getChannel', { channelId: channel.id })).state).toBe('open')
  expect(await reachability(a, b.peerId)).toBe('unreachable')

  const restartedAt = performance.now()
  b = await daemon(bDir, bArgs)
  await waitFor('the kept message in B\'s inbox', async () => (await ok<MessageView[]>(b, 'listMessages', { limit: 10 })).some((m) => m.text === text && m.direction === 'in'), 30_000)
  const deliveredMs = performance.now() - restartedAt
  await waitFor('A marks it delivered', async () => (await ok<MessageView[]>(a, 'listMessages', { peerId: b.peerId, limit: 10 })).find((m) => m.seq === sent.value.seq)?.status === 'delivered', 10_000)
  const paid = await ok<{ seq: number }>(a, 'pay', { channelId: channel.id, sats: 100 })
  expect(paid.seq).toBe(channel.seq + 1)
  return { sendMs: Math.round(sent.ms), payMs: Math.round(pay.ms), closeMs: Math.round(close.ms), deliveredAfterRestartMs: Math.round(deliveredMs) }
}

describe('a payee whose process is killed', () => {
  it('directly connected: every call answers at once; the message arrives after its restart', async () => {
    const bPort = await freePort()
    const bDir = dataDir()
    const bArgs = ['--p2p-port', String(bPort)]
    const a = await daemon(dataDir())
    const b = await daemon(bDir, bArgs)
    await fundWallet(devnet, a, 1_000_000)
    const direct = ((await b.health()).multiaddrs as string[]).find((m) => m.startsWith(`/ip4/127.0.0.1/tcp/${bPort}/p2p/`))!
    await ok(a, 'connectPeer', { multiaddr: direct })
    const opened = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 100_000 })
    await ok(a, 'pay', { channelId: opened.id, sats: 1_000 })
    const channel = await ok<ChannelView>(a, 'getChannel', { channelId: opened.id })
    const figures = await payeeAway(a, bDir, bArgs, b, channel)
    process.stdout.write(`${JSON.stringify({ scenario: 'offline-peer-direct', ...figures })}\n`)
  }, 120_000)

  it('through a relay, its reservation gone: the same', async () => {
    const relayDir = tempDir('bsv-p2p-offline-relay-')
    cleanups.push(relayDir.remove)
    const relay: RelayProc = await startRelay(relayDir.path, await freePort())
    cleanups.push(() => relay.kill('SIGKILL'))
    const bDir = dataDir()
    const bArgs = ['--relay', relay.multiaddr]
    const a = await daemon(dataDir(), ['--relay', relay.multiaddr])
    const b = await daemon(bDir, bArgs)
    await fundWallet(devnet, a, 1_000_000)
    await waitFor('B reserved', async () => (await b.health()).relay.state === 'reserved', 20_000)
    const circuit = ((await b.health()).multiaddrs as string[]).find((m) => m.includes('/p2p-circuit/'))!
    expect((await ok<{ connection: string }>(a, 'connectPeer', { multiaddr: circuit })).connection).toBe('relayed')
    const opened = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 100_000 })
    await ok(a, 'pay', { channelId: opened.id, sats: 1_000 })
    const channel = await ok<ChannelView>(a, 'getChannel', { channelId: opened.id })
    const figures = await payeeAway(a, bDir, bArgs, b, channel)
    process.stdout.write(`${JSON.stringify({ scenario: 'offline-peer-relay', ...figures })}\n`)
  }, 120_000)

  it('a message kept past messaging.pendingExpiryMs becomes failed, and can be retried', async () => {
    const a = await daemon(dataDir({ messaging: { pendingExpiryMs: 1_500 } }))
    const b = await daemon(dataDir())
    const bId = b.peerId
    await b.kill('SIGKILL')
    // A never knew an address of B: it cannot be reached at all.
    const sent = await timed(() => ok<{ seq: number; status: string }>(a, 'sendMessage', { peerId: bId, text: 'into the void' }))
    expect(sent.value.status).toBe('pending')
    expect(sent.ms).toBeLessThan(1_000)
    await waitFor('expiry', async () => (await ok<MessageView[]>(a, 'listMessages', { peerId: bId, limit: 1 }))[0]?.status === 'failed', 10_000)
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_messaging_expired_total 1/)
    expect((await ok<MessageView>(a, 'retryMessage', { seq: sent.value.seq })).status).toBe('pending')
    expect((await ok<{ seq: number }>(a, 'deleteMessage', { seq: sent.value.seq })).seq).toBe(sent.value.seq)
    expect(await ok<MessageView[]>(a, 'listMessages', { peerId: bId, limit: 1 })).toEqual([])
  }, 60_000)
})
