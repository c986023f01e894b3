// Malformed input on every protocol and every API endpoint (issue #7): generated inputs
// (structure-aware mutations of valid ones, random JSON, broken JSON, random bytes, broken
// framing) against a real daemon process: the direct-message and channel protocols over
// real libp2p streams, gossip announcements from a real libp2p node, every HTTP API method,
// the WebSocket transport, and the Electron IPC binding (in Node, with a fake sender).
// Zero crashes: the target stays up, /health answers, nothing reaches the process top
// level, every refusal is typed, and honest traffic works after each barrage.
// CHAOS_SEED=<seed> replays the same inputs.
import { randomBytes } from 'node:crypto'
import { get as httpGet } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { METHOD_NAMES } from '../../shared/contract/index.js'
import { CHANNEL_PROTOCOL, MAX_CHANNEL_FRAME_BYTES, WIRE_ERROR_CODES } from '../../main/channels/protocol.js'
import { channelFees } from '../../main/channels/transactions.js'
import { validateConfig } from '../../main/config/index.js'
import { ANNOUNCE_TOPIC, MAX_ANNOUNCEMENT_BYTES } from '../../main/p2p/discovery/constants.js'
import { type Libp2pNode, createNode } from '../../main/p2p/libp2p.js'
import { DEFAULT_MAX_FRAME_BYTES, MESSAGING_PROTOCOL } from '../../main/p2p/messaging/constants.js'
import { silentLogger } from '../../main/telemetry/index.js'
import { hostedEngine } from '../helpers/engine-host.js'
import { type DaemonProc, type DevnetProc, metricSum, startDevnet, tempDir, waitFor } from '../helpers/processes.js'
import { scaled } from './profile.js'
import type { ApiContext } from './support/fuzz/api-inputs.js'
import { type ChannelView, devnetDaemon, directAddr, fundWallet, ok } from '../helpers/devnet-daemons.js'
import { httpBarrage, rawBarrage } from './support/fuzz/http-barrage.js'
import { ipcBarrage } from './support/fuzz/ipc-barrage.js'
import type { Json } from './support/fuzz/json-mutator.js'
import { chaosSeed, prng } from './support/fuzz/prng.js'
import { recordSummary } from './support/results.js'
import { streamBarrage } from './support/fuzz/stream-barrage.js'
import { announcementInput, streamBatch } from './support/fuzz/wire-inputs.js'
import { wsBarrage } from './support/fuzz/ws-barrage.js'

/** Generated inputs per peer protocol and per transport. */
const INPUTS = scaled({ short: 8_000, full: 100_000 })
/**
 * Generated requests per API method (every method gets this many): the full profile sends
 * 100,000 over HTTP and 200,000 over IPC in all. CHAOS_API_PER_METHOD=100000 gives every
 * method 100,000 of its own (about an hour of HTTP on a 2-core machine).
 */
const API_PER_METHOD_OVERRIDE = Number(process.env.CHAOS_API_PER_METHOD) || undefined
const HTTP_PER_METHOD = API_PER_METHOD_OVERRIDE ?? scaled({ short: 400, full: 5_000 })
const IPC_PER_METHOD = API_PER_METHOD_OVERRIDE ?? scaled({ short: 500, full: 10_000 })
const RAW_HTTP = scaled({ short: 300, full: 3_000 })
// 100,000 per method over HTTP takes about an hour here: the override gets three.
const DEADLINE_MS = API_PER_METHOD_OVERRIDE ? 3 * 60 * 60_000 : scaled({ short: 60_000, full: 30 * 60_000 })
/** The API barrages' own time bound, above the suite's default (their deadline is the real one). */
const API_TEST_TIMEOUT_MS = DEADLINE_MS + 10 * 60_000

const seed = chaosSeed()
const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
let target: DaemonProc
let honest: DaemonProc
let attackers: Libp2pNode[] = []
let ctx: ApiContext
let height = 0

async function libp2pNode(): Promise<Libp2pNode> {
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: { maxConnections: 100, inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100 }, mdns: false })
  await node.start()
  cleanups.push(() => node.stop())
  return node
}

function report(summary: { target: string } & Record<string, unknown>): void {
  recordSummary({ scenario: 'malformed-input', seed, ...summary })
}

/** GET on a new connection each time: a pooled one may have been closed while this process was busy. */
function getFresh(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)))
    req.on('error', reject)
  })
}

async function metrics(d: DaemonProc): Promise<string> {
  return (await getFresh(`${d.apiUrl}/metrics`)).text
}

/** The target is alive, healthy enough to answer, and nothing reached its top level. */
async function expectTargetWell(after: string): Promise<void> {
  expect({ after, exitCode: target.child.exitCode, signal: target.child.signalCode }).toEqual({ after, exitCode: null, signal: null })
  const res = await getFresh(`${target.apiUrl}/health`)
  expect(res.status).toBe(200)
  expect((JSON.parse(res.text) as { status: string }).status).not.toBe('down')
  const text = await metrics(target)
  // Nothing reached the process top level, no API answer was a 500, no peer request ended in an internal error.
  const internal = {
    uncaught: metricSum(text, 'bsv_p2p_uncaught_errors_total'),
    api500: labelled(text, 'bsv_p2p_api_requests_total', 'status="500"'),
    channelInternal: labelled(text, 'bsv_p2p_channel_refused_total', 'code="internal"'),
  }
  if (internal.uncaught + internal.api500 + internal.channelInternal > 0) {
    process.stdout.write(`target errors after ${after}:\n${target.stderrTail().split('\n').filter((l) => l.includes('"error"') || l.includes('uncaught')).slice(-10).join('\n')}\n`)
  }
  expect({ after, ...internal }).toEqual({ after, uncaught: 0, api500: 0, channelInternal: 0 })
}

/** Honest traffic from the honest daemon: a message and a channel payment, both acknowledged. */
async function expectHonestTraffic(label: string): Promise<void> {
  const text = `honest after ${label} ${randomBytes(4).toString('hex')}`
  await ok(honest, 'sendMessage', { peerId: target.peerId, text })
  const inbox = await ok<{ text: string }[]>(target, 'listMessages', { peerId: honest.peerId, limit: 5 })
  expect(inbox.map((m) => m.text)).toContain(text)
  const paid = await ok<{ seq: number; paidSats: number }>(honest, 'pay', { channelId: ctx.channelId, sats: 3 })
  const seen = await ok<ChannelView>(target, 'getChannel', { channelId: ctx.channelId })
  expect({ seq: seen.seq, paidSats: seen.paidSats }).toEqual({ seq: paid.seq, paidSats: paid.paidSats })
}

/** The sum of a metric's samples whose labels include `label` (e.g. `status="500"`). */
function labelled(text: string, name: string, label: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

/** A metric's samples by one label's value, for the reports. */
function byLabel(text: string, name: string, labelName: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}{`)) continue
    const value = new RegExp(`${labelName}="([^"]*)"`).exec(l)?.[1] ?? ''
    out[value] = (out[value] ?? 0) + Number(l.split(' ').pop())
  }
  return out
}

const hex = (n: number): string => randomBytes(n).toString('hex')
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

beforeAll(async () => {
  process.stdout.write(`malformed-input: CHAOS_SEED=${seed}\n`)
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
  const tDir = tempDir()
  const hDir = tempDir()
  cleanups.push(tDir.remove, hDir.remove)
  // Every frame is parsed: the per-peer budget is raised so that rate limiting does not hide the parser.
  ;[target, honest] = await Promise.all([devnetDaemon(devnet, tDir.path, [], { messaging: { ratePerSec: 1_000_000, burst: 1_000_000 } }), devnetDaemon(devnet, hDir.path)])
  cleanups.push(() => target.kill('SIGKILL'), () => honest.kill('SIGKILL'))
  await fundWallet(devnet, honest, 500_000)
  const targetAddr = await directAddr(target)
  await ok(honest, 'connectPeer', { multiaddr: targetAddr })
  const channel = await ok<ChannelView>(honest, 'openChannel', { peerId: target.peerId, capacitySats: 200_000 })
  const { address } = await ok<{ address: string }>(target, 'getWallet')
  ctx = { peerId: target.peerId, address, channelId: channel.id }
  height = ((await (await fetch(`${devnet.url}/v1/bsv/devnet/chain/info`)).json()) as { blocks: number }).blocks
  attackers = [await libp2pNode(), await libp2pNode()]
  for (const a of attackers) await a.dial(multiaddr(targetAddr))
  await expectHonestTraffic('start')
}, 120_000)

afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('malformed input on every protocol and API endpoint', () => {
  it(`direct messages (${MESSAGING_PROTOCOL}): ${INPUTS} generated frames over real streams`, async () => {
    const r = prng(seed ^ 0x1001)
    const started = Date.now()
    const valid = (): Json => ({ t: 'msg', id: r.text(r.between(8, 64), ID_ALPHABET), text: `fuzz ${r.text(r.int(40))}`, sentAt: Date.now() })
    const result = await streamBarrage({
      attackers, target: peerIdFromString(target.peerId), protocol: MESSAGING_PROTOCOL, r, total: INPUTS, batchSize: 100, parallel: 3,
      makeBatch: (rr, size) => streamBatch(rr, valid, DEFAULT_MAX_FRAME_BYTES, size), deadlineMs: DEADLINE_MS,
    })
    const text = await metrics(target)
    report({ target: 'messaging', ...result, rejectedByTarget: byLabel(text, 'bsv_p2p_messaging_frames_rejected_total', 'reason'), storedByTarget: metricSum(text, 'bsv_p2p_messaging_received_total'), seconds: (Date.now() - started) / 1000 })
    expect(result.inputs).toBeGreaterThanOrEqual(INPUTS)
    await expectTargetWell('messaging')
    await expectHonestTraffic('messaging')
  })

  it(`channels (${CHANNEL_PROTOCOL}): ${INPUTS} generated frames over real streams`, async () => {
    const r = prng(seed ^ 0x2002)
    const started = Date.now()
    const fees = channelFees(100)
    const valid = (): Json => {
      const id = r.int(1_000_000)
      const channelId = r.chance(0.2) ? ctx.channelId : hex(16)
      switch (r.int(8)) {
        case 0:
          return { t: 'propose', id, channelId, capacitySats: r.between(10_000, 10_000_000), expiry: height + r.between(10, 300), feeRate: 100, ...fees, payerPub: `02${hex(32)}` }
        case 1:
          return { t: 'accept', id, channelId, payeePub: `03${hex(32)}` }
        case 2:
          return { t: 'reject', id, channelId }
        case 3:
          return { t: 'signRefund', id, channelId, fundingTxid: hex(32), fundingVout: r.int(3), payerAddress: ctx.address }
        case 4:
          return { t: 'funded', id, channelId, fundingTxid: hex(32), fundingVout: r.int(3) }
        case 5:
          return { t: 'pay', id, channelId, seq: r.between(1, 100), paidSats: r.between(1, 100_000), sig: `30${hex(r.between(8, 72))}41`, memo: 'fuzz' }
        case 6:
          return { t: 'sync', id, channelId }
        default:
          return { t: 'close', id, channelId, seq: r.int(100), paidSats: r.int(100_000) }
      }
    }
    const result = await streamBarrage({
      attackers, target: peerIdFromString(target.peerId), protocol: CHANNEL_PROTOCOL, r, total: INPUTS, batchSize: 100, parallel: 3,
      makeBatch: (rr, size) => streamBatch(rr, valid, MAX_CHANNEL_FRAME_BYTES, size), deadlineMs: DEADLINE_MS,
    })
    const text = await metrics(target)
    const refusedByCode = byLabel(text, 'bsv_p2p_channel_refused_total', 'code')
    report({ target: 'channels', ...result, refusedByTarget: metricSum(text, 'bsv_p2p_channel_refused_total'), refusedByCode, seconds: (Date.now() - started) / 1000 })
    expect(result.inputs).toBeGreaterThanOrEqual(INPUTS)
    // A peer cannot mint metric series: refusals are counted under the wire's codes and a few fixed reasons.
    const knownReasons: readonly string[] = [...WIRE_ERROR_CODES, 'schema', 'framing']
    expect(Object.keys(refusedByCode).filter((c) => !knownReasons.includes(c))).toEqual([])
    await expectTargetWell('channels')
    await expectHonestTraffic('channels')
  })

  it(`gossip announcements: ${INPUTS} generated payloads published on the discovery topic`, async () => {
    const r = prng(seed ^ 0x3003)
    const started = Date.now()
    // Its own attacker: a node whose connection carried nothing before, announcing itself.
    const attacker = await libp2pNode()
    const pubsub = attacker.services.pubsub as GossipSub
    await attacker.dial(multiaddr(await directAddr(target)))
    await waitFor('the target subscribed to announcements', () => pubsub.getSubscribers(ANNOUNCE_TOPIC).some((p) => p.toString() === target.peerId), 20_000)
    const judgedSoFar = async (): Promise<number> => metricSum(await metrics(target), 'bsv_p2p_discovery_announcements_total')
    const before = await judgedSoFar()
    const me = attacker.peerId.toString()
    const valid = (): Json => ({ v: 1, peerId: me, name: `fuzz ${r.int(1000)}`, services: [{ name: 'fuzz', priceSats: r.int(1000) }], relayAddrs: [], ts: Date.now() })
    const byKind: Record<string, number> = {}
    let published = 0
    let publishErrors = 0
    let judged = 0
    const deadline = Date.now() + DEADLINE_MS
    while (published < INPUTS && Date.now() < deadline) {
      const batch = Array.from({ length: Math.min(100, INPUTS - published) }, () => announcementInput(r, valid, MAX_ANNOUNCEMENT_BYTES))
      await Promise.all(
        batch.map(async ({ payload, kind }) => {
          byKind[kind] = (byKind[kind] ?? 0) + 1
          await pubsub.publish(ANNOUNCE_TOPIC, payload).catch(() => publishErrors++)
        }),
      )
      published += batch.length
      // Publishing only queues: keep at most a few thousand in flight, or gossipsub's outbound buffer overflows and drops the stream.
      if (published % 1000 === 0 || published >= INPUTS) {
        await waitFor('the target judged what was published', async () => {
          judged = (await judgedSoFar()) - before
          return judged >= published - publishErrors - 2000
        }, 30_000, 50)
      }
    }
    // Each one reached the target's validator: its counter of announcements judged grows by as many.
    await waitFor('the target judged every announcement', async () => {
      judged = (await judgedSoFar()) - before
      return judged >= published - publishErrors
    }, 60_000, 200).catch(() => {})
    report({ target: 'gossip', inputs: published, publishErrors, judgedByTarget: judged, verdicts: byLabel(await metrics(target), 'bsv_p2p_discovery_announcements_total', 'reason'), byKind, seconds: (Date.now() - started) / 1000 })
    expect(published).toBeGreaterThanOrEqual(INPUTS)
    expect(judged).toBeGreaterThanOrEqual(Math.floor((published - publishErrors) * 0.95))
    await expectTargetWell('gossip')
    // A newcomer's honest announcement is still accepted: it appears among the target's peers.
    const newcomer = await libp2pNode()
    const newcomerPubsub = newcomer.services.pubsub as GossipSub
    newcomerPubsub.subscribe(ANNOUNCE_TOPIC)
    await newcomer.dial(multiaddr(await directAddr(target)))
    await waitFor('the newcomer sees the target subscribed', () => newcomerPubsub.getSubscribers(ANNOUNCE_TOPIC).some((p) => p.toString() === target.peerId), 20_000)
    await newcomerPubsub.publish(ANNOUNCE_TOPIC, new TextEncoder().encode(JSON.stringify({ v: 1, peerId: newcomer.peerId.toString(), name: 'honest newcomer', services: [], relayAddrs: [], ts: Date.now() })))
    await waitFor('the newcomer announced', async () => (await ok<{ peerId: string; name?: string }[]>(target, 'listPeers')).some((p) => p.peerId === newcomer.peerId.toString() && p.name === 'honest newcomer'), 20_000, 100)
    await expectHonestTraffic('gossip')
  })

  it(`HTTP API: ${HTTP_PER_METHOD} generated requests for each of the ${METHOD_NAMES.length} methods, and malformed HTTP`, async () => {
    const r = prng(seed ^ 0x4004)
    const started = Date.now()
    const result = await httpBarrage({ target: { apiUrl: target.apiUrl, token: target.token, maxBodyBytes: 1024 * 1024 }, ctx, names: METHOD_NAMES, perMethod: HTTP_PER_METHOD, concurrency: 16, r, deadlineMs: DEADLINE_MS })
    const raw = await rawBarrage({ apiUrl: target.apiUrl, token: target.token, count: RAW_HTTP, r, concurrency: 16 })
    report({ target: 'http', inputs: result.inputs, perMethod: HTTP_PER_METHOD, methods: METHOD_NAMES.length, byKind: result.byKind, byStatus: result.byStatus, violations: result.violations.length, violationSamples: result.violations.slice(0, 12), staleSocketRetries: result.staleSocketRetries, staleSocketMaxIdleMs: result.staleSocketMaxIdleMs, clientStallMaxMs: result.clientStallMaxMs, rawInputs: raw.inputs, rawByStatus: raw.byStatus, seconds: (Date.now() - started) / 1000 })
    expect(result.violations).toEqual([])
    expect(result.inputs).toBeGreaterThanOrEqual(HTTP_PER_METHOD * METHOD_NAMES.length)
    expect(Object.keys(raw.byStatus).filter((s) => Number(s) >= 500)).toEqual([])
    await expectTargetWell('http')
    await expectHonestTraffic('http')
  }, API_TEST_TIMEOUT_MS)

  it(`WebSocket events transport: ${INPUTS} generated inputs`, async () => {
    const r = prng(seed ^ 0x5005)
    const started = Date.now()
    const result = await wsBarrage({ apiUrl: target.apiUrl, token: target.token, total: INPUTS, sockets: 4, r, deadlineMs: DEADLINE_MS })
    report({ target: 'websocket', ...result, seconds: (Date.now() - started) / 1000 })
    expect(result.wronglyAccepted).toBe(0)
    expect(result.inputs).toBeGreaterThanOrEqual(INPUTS)
    await expectTargetWell('websocket')
    // A fresh client gets the health snapshot, then the channel event of an honest payment.
    const events: string[] = []
    const ws = new WebSocket(`ws://${new URL(target.apiUrl).host}/api/events`, ['bsv-p2p.v1', `token.${target.token}`])
    ws.on('message', (data: Buffer) => events.push((JSON.parse(data.toString()) as { event: string }).event))
    await waitFor('the health snapshot', () => events.includes('health'), 10_000)
    await expectHonestTraffic('websocket')
    await waitFor('a channels event', () => events.includes('channels'), 10_000)
    ws.terminate()
  })

  it(`Electron IPC binding: ${IPC_PER_METHOD} generated calls per method through bindContractIpc`, async () => {
    const r = prng(seed ^ 0x6006)
    const started = Date.now()
    const dir = tempDir()
    cleanups.push(dir.remove)
    const host = hostedEngine({ config: validateConfig({ dataDir: dir.path, network: 'devnet', chainUrl: devnet.url, logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false } }), logger: silentLogger })
    await host.start()
    cleanups.push(() => host.stop())
    const engine = host.current
    const { address } = await host.handlers.getWallet({})
    const result = await ipcBarrage({ handlers: host.handlers, events: host.events, ctx: { peerId: engine.p2p.peerId, address, channelId: hex(16) }, total: IPC_PER_METHOD * METHOD_NAMES.length, r, concurrency: 8 })
    report({ target: 'ipc', inputs: result.inputs, perMethod: IPC_PER_METHOD, byKind: result.byKind, byCode: result.byCode, violations: result.violations.length, violationSamples: result.violations.slice(0, 12), seconds: (Date.now() - started) / 1000 })
    expect(result.violations).toEqual([])
    expect(result.inputs).toBeGreaterThanOrEqual(IPC_PER_METHOD * METHOD_NAMES.length)
    expect((await host.handlers.getHealth({})).peerId).toBe(engine.p2p.peerId)
    await expectTargetWell('ipc')
  }, API_TEST_TIMEOUT_MS)
})
