import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../telemetry/index.js'
import { ArcClient } from './arc-client.js'
import { BroadcastRejectedError, ChainUnavailableError } from './chain.js'
import { ChainMonitor } from './chain-monitor.js'
import { DevnetServer } from './devnet/devnet-server.js'
import { MAX_ANSWER_BYTES, request } from './http.js'
import { chainEndpoints, createChainClients } from './networks.js'
import { WhatsOnChainClient } from './woc-client.js'

const servers: Server[] = []

/** A real HTTP server on 127.0.0.1 that answers from a script and counts requests. */
async function scripted(answer: (n: number) => { status: number; body: string }): Promise<{ url: string; count: () => number }> {
  let n = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const a = answer(++n)
      res.writeHead(a.status, { 'Content-Type': 'application/json' })
      res.end(a.body)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => n }
}

function close(s: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    s.close(() => resolve())
    s.closeAllConnections()
  })
}

afterEach(async () => {
  for (const s of servers.splice(0)) await close(s)
})

const POLICY = { retries: 2, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 }

describe('chain clients', () => {
  it('retry 5xx with backoff, then succeed', async () => {
    const s = await scripted((n) => (n < 3 ? { status: 503, body: 'busy' } : { status: 200, body: JSON.stringify({ blocks: 42 }) }))
    const woc = new WhatsOnChainClient({ baseUrl: s.url, http: POLICY })
    expect(await woc.height()).toBe(42)
    expect(s.count()).toBe(3)
  })

  it('give up after the bounded retries with ChainUnavailableError', async () => {
    const s = await scripted(() => ({ status: 500, body: 'down' }))
    const woc = new WhatsOnChainClient({ baseUrl: s.url, http: POLICY })
    await expect(woc.height()).rejects.toBeInstanceOf(ChainUnavailableError)
    expect(s.count()).toBe(3)
  })

  it('never retry a refusal (4xx), and map ARC status codes to reasons', async () => {
    const s = await scripted(() => ({ status: 465, body: JSON.stringify({ status: 465, title: 'Fee too low', extraInfo: 'minimum 10 sat' }) }))
    const arc = new ArcClient({ baseUrl: s.url, http: POLICY })
    const err = await arc.broadcast('00').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BroadcastRejectedError)
    expect((err as BroadcastRejectedError).reason).toBe('fee-too-low')
    expect(s.count()).toBe(1)
  })

  it('treat an ARC 200 with a REJECTED status as a refusal', async () => {
    const s = await scripted(() => ({ status: 200, body: JSON.stringify({ txid: 'ab'.repeat(32), txStatus: 'DOUBLE_SPEND_ATTEMPTED' }) }))
    const err = await new ArcClient({ baseUrl: s.url, http: POLICY }).broadcast('00').catch((e: unknown) => e)
    expect((err as BroadcastRejectedError).reason).toBe('double-spend')
  })

  it('report a dead port and a hung server as unavailable', async () => {
    const hung = createServer(() => {
      // never answers
    })
    servers.push(hung)
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    const slow = new WhatsOnChainClient({ baseUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, http: { ...POLICY, retries: 0, timeoutMs: 200 } })
    await expect(slow.height()).rejects.toThrow(/timed out/)
    const closed = await scripted(() => ({ status: 200, body: '{}' }))
    const port = new URL(closed.url).port
    await close(servers.pop()!)
    const dead = new WhatsOnChainClient({ baseUrl: `http://127.0.0.1:${port}`, http: { ...POLICY, retries: 1 } })
    await expect(dead.height()).rejects.toBeInstanceOf(ChainUnavailableError)
  })

  it('refuse an answer larger than the limit instead of buffering it', async () => {
    const huge = await scripted(() => ({ status: 200, body: 'x'.repeat(MAX_ANSWER_BYTES + 1) }))
    const woc = new WhatsOnChainClient({ baseUrl: huge.url, http: { ...POLICY, retries: 0 } })
    await expect(woc.height()).rejects.toThrow(/larger than/)
    // A broadcast that passes the size check still works on the same reused connections.
    const ok = await scripted(() => ({ status: 200, body: '"ab"' }))
    const answer = await request(`${ok.url}/tx/raw`, { method: 'POST', body: '{"txhex":"00"}', headers: { 'Content-Type': 'application/json' } }, { ...POLICY, retries: 0 })
    expect(answer).toEqual({ status: 200, body: '"ab"' })
  })

  it('read both unspent shapes and leave out outputs spent in the mempool', async () => {
    const item = (pos: number, spent: boolean) => ({ height: 0, tx_pos: pos, tx_hash: 'ab'.repeat(32), value: 5, isSpentInMempoolTx: spent })
    const wrapped = await scripted(() => ({ status: 200, body: JSON.stringify({ address: 'x', result: [item(0, false), item(1, true)], error: '' }) }))
    expect(await new WhatsOnChainClient({ baseUrl: wrapped.url, http: POLICY }).utxos('x')).toEqual([{ txid: 'ab'.repeat(32), vout: 0, satoshis: 5, height: null }])
    const bare = await scripted(() => ({ status: 200, body: JSON.stringify([{ ...item(2, false), height: 7 }]) }))
    expect(await new WhatsOnChainClient({ baseUrl: bare.url, http: POLICY }).utxos('x')).toEqual([{ txid: 'ab'.repeat(32), vout: 2, satoshis: 5, height: 7 }])
  })

  it('refuse answers of the wrong shape', async () => {
    const s = await scripted(() => ({ status: 200, body: JSON.stringify([{ tx_hash: 'nothex', tx_pos: 0, value: 1, height: 0 }]) }))
    await expect(new WhatsOnChainClient({ baseUrl: s.url, http: POLICY }).utxos('x')).rejects.toThrow(/unexpected shape/)
  })

  it('derive endpoints per network; a chain URL serves both APIs', () => {
    expect(chainEndpoints('mainnet').woc).toBe('https://api.whatsonchain.com/v1/bsv/main')
    expect(chainEndpoints('testnet').arc).toBe('https://arc-test.taal.com')
    expect(chainEndpoints('devnet', 'http://127.0.0.1:9/')).toEqual({ woc: 'http://127.0.0.1:9/v1/bsv/devnet', arc: 'http://127.0.0.1:9' })
  })
})

describe('chain monitor', () => {
  it('goes syncing -> ok -> unavailable -> ok as the devnet stops and returns', async () => {
    const devnet = new DevnetServer()
    await devnet.start()
    const port = devnet.port
    const { lookup } = createChainClients({ network: 'devnet', chainUrl: devnet.url, http: { retries: 0, timeoutMs: 1000 } })
    const monitor = new ChainMonitor({ lookup, logger: silentLogger }, { network: 'devnet', intervalMs: 60_000 })
    const states: string[] = []
    monitor.onChange((h) => states.push(h.state))
    expect(monitor.health().state).toBe('syncing')
    await monitor.start()
    try {
      await monitor.poll()
      expect(monitor.health()).toEqual({ state: 'ok', height: 0, network: 'devnet' })
      await devnet.stop()
      await monitor.poll()
      expect(monitor.health().state).toBe('unavailable')
      const back = new DevnetServer({ port })
      await back.start()
      back.mine(2)
      await monitor.poll()
      expect(monitor.health()).toEqual({ state: 'ok', height: 2, network: 'devnet' })
      expect(states).toEqual(['ok', 'unavailable', 'ok'])
      await back.stop()
    } finally {
      await monitor.stop()
    }
  })
})
