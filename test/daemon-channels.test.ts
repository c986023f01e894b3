// Payment channels between real daemon processes on a real devnet process: the full
// lifecycle through the relay and directly (1,000 payments each), and the payee killed
// with SIGKILL at random moments during 2,000 payments.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChannelView, directAddr, fundWallet, ok, txOutputs } from './helpers/devnet-daemons.js'
import { type DaemonProc, type DevnetProc, freePort, startDaemon, startDevnet, startRelay, tempDir, waitFor } from './helpers/processes.js'

const cleanups: (() => Promise<unknown> | void)[] = []
let devnet: DevnetProc
beforeAll(async () => {
  devnet = await startDevnet()
  cleanups.push(() => devnet.kill())
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function daemon(dir: string, args: string[] = []): Promise<DaemonProc> {
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300 } }))
  const d = await startDaemon(dir, ['--chain-url', devnet.url, ...args])
  cleanups.push(() => d.kill('SIGKILL'))
  return d
}

/**
 * `count` payments of 1..7 sat, `concurrency` at a time; returns the total. As a program
 * would pay: each payment has its own idempotency key, and one answered `unavailable`
 * (the payee away: nothing signed, or signed and kept) is asked again with the same key
 * until it is acknowledged, so each is paid exactly once.
 */
async function payMany(d: DaemonProc, channelId: string, count: number, concurrency: number, onAck?: (seq: number) => void): Promise<number> {
  let next = 0
  let total = 0
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const sats = (i % 7) + 1
      const params = { channelId, sats, idempotencyKey: `pay-${run}-${i}` }
      for (let attempt = 0; ; attempt++) {
        const res = await d.call<{ seq: number }>('pay', params)
        if (res.body.ok) {
          total += sats
          onAck?.((res.body.result as { seq: number }).seq)
          break
        }
        const code = res.body.error?.code
        if ((code !== 'unavailable' && code !== 'timeout') || attempt >= 200) throw new Error(`pay: ${code} ${res.body.error?.message}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return total
}


async function lifecycle(payer: DaemonProc, payee: DaemonProc): Promise<void> {
  const opened = await ok<ChannelView>(payer, 'openChannel', { peerId: payee.peerId, capacitySats: 200_000 })
  expect(opened.state).toBe('open')
  const total = await payMany(payer, opened.id, 1000, 4)
  const payerView = await ok<ChannelView>(payer, 'getChannel', { channelId: opened.id })
  const payeeView = await ok<ChannelView>(payee, 'getChannel', { channelId: opened.id })
  expect(payerView).toMatchObject({ seq: 1000, paidSats: total })
  expect(payeeView).toMatchObject({ seq: 1000, paidSats: total })
  const closed = await ok<ChannelView>(payer, 'closeChannel', { channelId: opened.id })
  expect(closed.settlementTxid).toMatch(/^[0-9a-f]{64}$/)
  expect(await txOutputs(devnet, closed.settlementTxid!)).toEqual([total, 200_000 - total - closed.settlementFeeSats])
  await fetch(`${devnet.url}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks: 1 }) })
  await waitFor('closed on both sides', async () => (await ok<ChannelView>(payer, 'getChannel', { channelId: opened.id })).state === 'closed' && (await ok<ChannelView>(payee, 'getChannel', { channelId: opened.id })).state === 'closed')
  const health = await payer.health()
  expect(health.channels).toMatchObject({ open: 0 })
}

describe('payment channels between daemon processes', () => {
  it('full lifecycle through the relay, then directly: open, 1,000 payments, cooperative close', async () => {
    const relayDir = tempDir()
    const aDir = tempDir()
    const bDir = tempDir()
    cleanups.push(relayDir.remove, aDir.remove, bDir.remove)
    const relay = await startRelay(relayDir.path, await freePort())
    cleanups.push(() => relay.kill('SIGKILL'))
    const a = await daemon(aDir.path, ['--relay', relay.multiaddr])
    const b = await daemon(bDir.path, ['--relay', relay.multiaddr])
    await fundWallet(devnet, a, 1_000_000)
    await waitFor('B reserved', async () => (await b.health()).relay.state === 'reserved', 20_000)
    const circuit = ((await b.health()).multiaddrs as string[]).find((m) => m.includes('/p2p-circuit/'))!
    const relayed = await ok<{ connection: string }>(a, 'connectPeer', { multiaddr: circuit })
    expect(relayed.connection).toBe('relayed')
    await lifecycle(a, b)

    const direct = await directAddr(b)
    await ok(a, 'connectPeer', { multiaddr: direct })
    await lifecycle(a, b)
    const metrics = await (await fetch(`${b.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_channel_payments_total\{role="payee"\} 2000/)
  }, 150_000)

  it('the payee killed with SIGKILL 20 times during 2,000 payments loses no acknowledged payment', async () => {
    const aDir = tempDir()
    const bDir = tempDir()
    cleanups.push(aDir.remove, bDir.remove)
    const bPort = await freePort()
    const a = await daemon(aDir.path)
    let b = await daemon(bDir.path, ['--p2p-port', String(bPort)])
    await fundWallet(devnet, a, 1_000_000)
    const direct = ((await b.health()).multiaddrs as string[]).find((m) => m.startsWith(`/ip4/127.0.0.1/tcp/${bPort}/p2p/`))!
    await ok(a, 'connectPeer', { multiaddr: direct })
    const { id } = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: 500_000 })

    let maxAcked = 0
    const paying = payMany(a, id, 2000, 4, (seq) => {
      maxAcked = Math.max(maxAcked, seq)
    })
    let kills = 0
    let failure: unknown = null
    paying.catch((err: unknown) => {
      failure = err
    })
    while (kills < 20 && maxAcked < 1990 && failure === null) {
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 250)))
      const ackedBeforeKill = maxAcked
      await b.kill('SIGKILL')
      kills++
      // Straight from the dead payee's database: every state the payer saw acknowledged is there.
      const db = new Database(join(bDir.path, 'engine.sqlite'), { readonly: true })
      try {
        // A kill before the first acknowledged payment finds no rows: MAX is NULL there.
        const row = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq, COUNT(*) AS n FROM channel_payments WHERE channel_id = ?').get(id) as { seq: number; n: number }
        expect(row.seq).toBeGreaterThanOrEqual(ackedBeforeKill)
        expect(row.n).toBe(row.seq)
      } finally {
        db.close()
      }
      b = await daemon(bDir.path, ['--p2p-port', String(bPort)])
      const listening = ((await b.health()).multiaddrs as string[]).some((m) => m.startsWith(`/ip4/127.0.0.1/tcp/${bPort}/`))
      // Reconnecting is the p2p layer's job (peer directory, relay keeper); the channel
      // engine only has to resume over whatever connection comes back.
      const reconnected = await a.call('connectPeer', { multiaddr: direct })
      expect({ kill: kills, listening, reconnected: reconnected.body.ok ? 'ok' : reconnected.body.error }).toEqual({ kill: kills, listening: true, reconnected: 'ok' })
      // The channel resumes before the next kill.
      const resumedFrom = maxAcked
      await waitFor('payments resume', () => maxAcked > resumedFrom || failure !== null || maxAcked >= 2000, 20_000, 10)
    }
    const total = await paying.catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\npayer log: ${a.stderrTail().split('\n').filter((l) => l.includes('channel')).slice(-8).join('\n')}`)
    })
    expect(kills).toBeGreaterThanOrEqual(20)
    const payeeView = await ok<ChannelView>(b, 'getChannel', { channelId: id })
    expect(payeeView).toMatchObject({ seq: 2000, paidSats: total, state: 'open' })
    expect(await ok<ChannelView>(a, 'getChannel', { channelId: id })).toMatchObject({ seq: 2000, paidSats: total })
  }, 300_000)
})
