// Money calls over the daemon's HTTP API as a program makes them, against real daemons on
// a real devnet. (1) 1,000 callers at once, each on its own connection, against an API
// that serves 32 connections and lets 100 wait: every caller gets an HTTP answer (200, or
// 503 with Retry-After), none a reset; retrying each refused call with its key pays each
// exactly once. (2) A proxy that loses the answer after the daemon did the work: the retry
// with the same key moves nothing more (pay, send, openChannel, sendMessage), and the
// chain agrees at close; the same key with other params is refused.
import { type IncomingHttpHeaders, type Server, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { directAddr, fundWallet, ok, txOutputs } from './helpers/devnet-daemons.js'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir, waitFor } from './helpers/processes.js'

interface ChannelView {
  id: string
  state: string
  seq: number
  paidSats: number
  capacitySats: number
  settlementFeeSats: number
  settlementTxid: string | null
  fundingTxid: string | null
}

const CALLERS = 1_000
const SERVED = 32
const WAITING = 100

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc

async function daemon(config: object = {}): Promise<DaemonProc> {
  const dir = tempDir('bsv-p2p-money-')
  cleanups.push(dir.remove)
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300 }, ...config }))
  const d = await startDaemon(dir.path, ['--chain-url', devnet.url], {}, { logLevel: 'warn' })
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: { ok: boolean; result?: any; error?: { code: string; message: string; details?: Record<string, unknown> } }
}

/** One POST on its own connection (no keep-alive pool): what a caller with no shared client does. */
function post(baseUrl: string, token: string, method: string, params: unknown, key?: string): Promise<Answer> {
  const url = new URL(`/api/${method}`, baseUrl)
  const body = JSON.stringify(params)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...(key ? { 'Idempotency-Key': key } : {}) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Between caller and daemon: forwards each call, and when told, lets the daemon finish it
 * and then cuts the caller's connection instead of answering (the answer is kept here).
 */
async function lossyProxy(target: string): Promise<{ url: string; loseNext: () => void; lost: Answer['body'][]; server: Server }> {
  let lose = false
  const lost: Answer['body'][] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const forward = request(
        new URL(req.url ?? '/', target),
        { method: req.method, agent: false, headers: { ...req.headers, host: new URL(target).host } },
        (up) => {
          const body: Buffer[] = []
          up.on('data', (c: Buffer) => body.push(c))
          up.on('end', () => {
            const text = Buffer.concat(body).toString('utf8')
            if (lose) {
              lose = false
              lost.push(JSON.parse(text))
              req.socket.destroy()
              return
            }
            res.writeHead(up.statusCode ?? 502, { 'Content-Type': 'application/json' })
            res.end(text)
          })
        },
      )
      forward.on('error', () => req.socket.destroy())
      forward.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, loseNext: () => (lose = true), lost, server }
}

beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
  ;[a, b] = await Promise.all([daemon({ api: { maxConnections: SERVED, maxWaitingConnections: WAITING } }), daemon()])
  await ok(a, 'connectPeer', { multiaddr: await directAddr(b) })
  await fundWallet(devnet, a, 2_000_000)
}, 60_000)

afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('money calls over the HTTP API', () => {
  it(`${CALLERS} callers at once: each answered (200 or 503 with Retry-After), none reset; retried with their keys, each paid exactly once`, async () => {
    const channel = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 200_000 })
    expect(channel.state).toBe('open')
    const keys = Array.from({ length: CALLERS }, (_, i) => `load-${i}-${channel.id.slice(0, 8)}`)
    const sats = (i: number): number => (i % 5) + 1
    const paid = new Map<number, { seq: number; paidSats: number }>()
    const statuses = new Map<string, number>()
    let resets = 0
    let pending = keys.map((_, i) => i)
    let rounds = 0
    const started = performance.now()
    while (pending.length > 0 && rounds < 40) {
      rounds++
      const answers = await Promise.all(
        pending.map(async (i) => {
          try {
            return { i, answer: await post(a.apiUrl, a.token, 'pay', { channelId: channel.id, sats: sats(i) }, keys[i]) }
          } catch {
            resets++
            return { i, answer: null }
          }
        }),
      )
      const again: number[] = []
      let waitSeconds = 0
      for (const { i, answer } of answers) {
        if (!answer) {
          again.push(i)
          continue
        }
        const label = answer.status === 200 ? '200' : `${answer.status} ${answer.body.error?.code}`
        statuses.set(label, (statuses.get(label) ?? 0) + 1)
        if (answer.status === 200) paid.set(i, answer.body.result)
        else {
          expect(answer.status).toBe(503)
          expect(answer.body.error?.code).toBe('unavailable')
          const retryAfter = Number(answer.headers['retry-after'])
          expect(retryAfter).toBeGreaterThanOrEqual(1)
          waitSeconds = Math.max(waitSeconds, retryAfter)
          again.push(i)
        }
      }
      pending = again
      if (pending.length > 0) await new Promise((r) => setTimeout(r, waitSeconds * 1000))
    }
    const seconds = (performance.now() - started) / 1000
    expect(resets).toBe(0)
    expect(pending).toEqual([])
    // The cap held: with 32 served and 100 waiting, most of the first thousand were told to come back.
    expect(statuses.get('503 unavailable') ?? 0).toBeGreaterThan(0)

    // Each caller's payment exactly once: 1,000 states, the sum of their amounts, both sides.
    const total = keys.reduce((sum, _, i) => sum + sats(i), 0)
    const payerView = await ok<ChannelView>(a, 'getChannel', { channelId: channel.id })
    const payeeView = await ok<ChannelView>(b, 'getChannel', { channelId: channel.id })
    expect(payerView).toMatchObject({ seq: CALLERS, paidSats: total })
    expect(payeeView).toMatchObject({ seq: CALLERS, paidSats: total })
    expect(new Set([...paid.values()].map((p) => p.seq)).size).toBe(CALLERS)

    // A caller that asks again after its answer: the same answer, nothing moves.
    for (const i of [0, 1, 500, 999]) {
      const again = await post(a.apiUrl, a.token, 'pay', { channelId: channel.id, sats: sats(i) }, keys[i])
      expect(again.body.result).toEqual(paid.get(i))
    }
    expect((await ok<ChannelView>(a, 'getChannel', { channelId: channel.id })).seq).toBe(CALLERS)
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_idempotent_replays_total\{method="pay",how="followed"\} [1-9]/)
    process.stdout.write(`${JSON.stringify({ scenario: 'api-1000-callers', callers: CALLERS, served: SERVED, waiting: WAITING, rounds, statuses: Object.fromEntries(statuses), resets, seconds: Math.round(seconds * 10) / 10 })}\n`)
  }, 180_000)

  it(`${CALLERS} callers at once against the default limits (256 served, 1,024 waiting): every one answered, none reset`, async () => {
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () =>
        post(b.apiUrl, b.token, 'listChannels', {}).then(
          (answer) => answer.status,
          () => 'reset',
        ),
      ),
    )
    const counts: Record<string, number> = {}
    for (const s of answers) counts[String(s)] = (counts[String(s)] ?? 0) + 1
    expect(counts.reset).toBeUndefined()
    expect(Object.keys(counts).every((s) => s === '200' || s === '503')).toBe(true)
    process.stdout.write(`${JSON.stringify({ scenario: 'api-1000-callers-default-limits', counts })}\n`)
  }, 60_000)

  it('an answer lost after the work was done: the retry with the same key moves nothing more (pay, send, openChannel, sendMessage)', async () => {
    const proxy = await lossyProxy(a.apiUrl)
    const via = (method: string, params: unknown, key: string): Promise<Answer> => post(proxy.url, a.token, method, params, key)
    const lostCall = async (method: string, params: unknown, key: string): Promise<Answer> => {
      proxy.loseNext()
      await expect(via(method, params, key)).rejects.toThrow()
      const first = proxy.lost.at(-1)!
      expect(first.ok).toBe(true)
      const retry = await via(method, params, key)
      expect(retry.status).toBe(200)
      expect(retry.body.result).toEqual(first.result)
      return retry
    }

    // openChannel: one channel, one funding.
    const before = await ok<ChannelView[]>(a, 'listChannels')
    const opened = (await lostCall('openChannel', { peerId: b.peerId, capacitySats: 100_000 }, 'open-lost-1')).body.result as ChannelView
    const after = await ok<ChannelView[]>(a, 'listChannels')
    expect(after.length).toBe(before.length + 1)
    expect((await ok<ChannelView[]>(b, 'listChannels')).filter((c) => c.id === opened.id)).toHaveLength(1)
    const fundings = (await ok<{ address: string | null; txid: string }[]>(a, 'listTransactions', { limit: 200 })).filter((t) => t.address === `channel:${opened.id}`)
    expect(fundings).toHaveLength(1)

    // pay: one state more, on both sides.
    const paid = (await lostCall('pay', { channelId: opened.id, sats: 4_321 }, 'pay-lost-1')).body.result as { seq: number; paidSats: number }
    expect(paid).toMatchObject({ seq: 1, paidSats: 4_321 })
    expect(await ok<ChannelView>(a, 'getChannel', { channelId: opened.id })).toMatchObject({ seq: 1, paidSats: 4_321 })
    expect(await ok<ChannelView>(b, 'getChannel', { channelId: opened.id })).toMatchObject({ seq: 1, paidSats: 4_321 })
    // The same key with other params is refused, and moves nothing.
    const reused = await via('pay', { channelId: opened.id, sats: 9 }, 'pay-lost-1')
    expect(reused.status).toBe(409)
    expect(reused.body.error).toMatchObject({ code: 'conflict', details: { field: 'idempotencyKey', reason: 'idempotency-key-reused' } })
    await ok(a, 'pay', { channelId: opened.id, sats: 1_000 })

    // send: one transaction.
    const { address: bAddress } = await ok<{ address: string }>(b, 'newAddress')
    const sent = (await lostCall('send', { address: bAddress, sats: 12_345 }, 'send-lost-1')).body.result as { txid: string }
    const outs = (await ok<{ address: string | null; txid: string; direction: string }[]>(a, 'listTransactions', { limit: 200 })).filter((t) => t.address === bAddress)
    expect(outs.map((t) => t.txid)).toEqual([sent.txid])
    await waitFor('B sees the send', async () => {
      const w = await ok<{ balance: { confirmed: number; unconfirmed: number } }>(b, 'getWallet')
      return w.balance.confirmed + w.balance.unconfirmed >= 12_345
    })
    const bWallet = await ok<{ balance: { confirmed: number; unconfirmed: number } }>(b, 'getWallet')
    expect(bWallet.balance.confirmed + bWallet.balance.unconfirmed).toBe(12_345)

    // sendMessage: stored once by the peer.
    const message = (await lostCall('sendMessage', { peerId: b.peerId, text: 'once, whatever the network does' }, 'msg-lost-1')).body.result as { id: string }
    const received = (await ok<{ id: string; text: string; direction: string }[]>(b, 'listMessages', { peerId: a.peerId, limit: 50 })).filter((m) => m.direction === 'in' && m.text === 'once, whatever the network does')
    expect(received.map((m) => m.id)).toEqual([message.id])

    // At close, the chain pays B what was paid once: 4,321 + 1,000.
    const closed = await ok<ChannelView>(a, 'closeChannel', { channelId: opened.id })
    expect(await txOutputs(devnet, closed.settlementTxid!)).toEqual([5_321, 100_000 - 5_321 - closed.settlementFeeSats])
    // closeChannel with a key, its answer lost: the retry answers the closing channel, not an error.
    const second = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 50_000 })
    await ok(a, 'pay', { channelId: second.id, sats: 10 })
    const closing = (await lostCall('closeChannel', { channelId: second.id }, 'close-lost-1')).body.result as ChannelView
    expect(closing.settlementTxid).toMatch(/^[0-9a-f]{64}$/)
  }, 180_000)
})
