import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractError, type Message } from '../../../shared/contract/index.js'
import { type TestPeer, inboundTexts, metricValue, startPeer } from './test/fixtures.js'

describe('MessagingService between two real nodes', () => {
  let a: TestPeer
  let b: TestPeer

  beforeAll(async () => {
    a = await startPeer({ init: { rateLimit: { ratePerSec: 1_000_000, burst: 1_000_000 } } })
    b = await startPeer({ init: { rateLimit: { ratePerSec: 1_000_000, burst: 1_000_000 } } })
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
  })

  it('delivers a message, stores it on both sides and emits the event', async () => {
    const seen: Message[] = []
    const off = b.events.on('message', (m) => seen.push(m))
    const { id } = await a.service.sendMessage(b.peerId, 'hello bob')
    off()
    const [received] = b.service.listMessages({ peerId: a.peerId, limit: 10 })
    expect(received).toMatchObject({ id, peerId: a.peerId, direction: 'in', text: 'hello bob', status: 'received' })
    expect(seen.map((m) => m.id)).toContain(id)
    const [sent] = a.service.listMessages({ peerId: b.peerId, limit: 10 })
    expect(sent).toMatchObject({ id, peerId: b.peerId, direction: 'out', status: 'delivered' })
    expect(sent?.receivedAt).not.toBeNull()
  })

  it('delivers 10,000 messages pipelined over one connection: none lost, none duplicated, in order', async () => {
    const before = inboundTexts(b, a.peerId).length
    const n = 10_000
    const texts = Array.from({ length: n }, (_, i) => `bulk ${i}`)
    const results = await Promise.all(texts.map((t) => a.service.sendMessage(b.peerId, t)))
    expect(new Set(results.map((r) => r.id)).size).toBe(n)
    const stored = inboundTexts(b, a.peerId).slice(before)
    expect(stored).toEqual(texts)
    expect(a.libp2p.getConnections(b.libp2p.peerId)).toHaveLength(1)
    const streams = a.libp2p.getConnections(b.libp2p.peerId)[0]!.streams.filter((s) => s.protocol === '/bsv-p2p/msg/1.0.0')
    expect(streams.length).toBe(1)
    expect(await metricValue(b.metrics, 'messaging_duplicates_total')).toBe(0)
  })

  it('indexes stored messages for search in the background, behind the hot path', async () => {
    const progress = () => b.store.db.prepare('SELECT indexed_seq FROM messages_fts_progress').pluck().get() as number
    const last = () => b.store.db.prepare('SELECT MAX(seq) FROM messages').pluck().get() as number
    const until = Date.now() + 10_000
    while (progress() < last() && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    expect(progress()).toBe(last())
    expect((await b.service.searchMessages('bulk 9999')).map((m) => m.text)).toContain('bulk 9999')
  })

  it('lists with a seq cursor and searches with FTS, treating operators as text', async () => {
    await a.service.sendMessage(b.peerId, 'the quick brown fox')
    await a.service.sendMessage(b.peerId, 'payment channel "opened" (NEAR) fox* OR')
    const page1 = b.service.listMessages({ peerId: a.peerId, limit: 2 })
    expect(page1.map((m) => m.text)).toEqual(['payment channel "opened" (NEAR) fox* OR', 'the quick brown fox'])
    const page2 = b.service.listMessages({ peerId: a.peerId, before: page1[1]!.seq, limit: 1 })
    expect(page2[0]?.text).toBe('bulk 9999')
    expect((await b.service.searchMessages('quick')).map((m) => m.text)).toEqual(['the quick brown fox'])
    expect((await b.service.searchMessages('qui')).map((m) => m.text)).toEqual(['the quick brown fox'])
    // Operators are searched as text: never an SQLite syntax error; a query without words is invalid_params.
    for (const q of ['"opened"', 'NEAR(', 'fox* OR', 'AND', '"', 'col:umn', '^start', '(((', 'NOT fox', "'; DROP TABLE messages; --", '*', '-']) {
      try {
        expect(Array.isArray(await b.service.searchMessages(q))).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(ContractError)
        expect((err as ContractError).code).toBe('invalid_params')
      }
    }
    expect((await b.service.searchMessages('NOT fox')).map((m) => m.text)).toEqual([])
    expect(await b.service.searchMessages('fox')).toHaveLength(2)
    expect((await b.service.searchMessages('"opened" (NEAR)')).map((m) => m.text)).toEqual(['payment channel "opened" (NEAR) fox* OR'])
    await expect(b.service.searchMessages('   ')).rejects.toThrow(ContractError)
    await expect(b.service.searchMessages('')).rejects.toThrow(/no words/)
  })

  it('a search after a large backlog of unindexed messages catches the index up in chunks, letting the event loop turn between them', async () => {
    // The whole index undone, as in a database from before it: 10,000+ rows behind.
    b.store.db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('delete-all'); UPDATE messages_fts_progress SET indexed_seq = 0")
    // Counts turns of the event loop (one immediate each), not time: fast or slow, it is the same.
    let turns = 0
    let ticking = true
    const tick = (): void => {
      turns++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    try {
      const found = await b.service.searchMessages('bulk 1234')
      expect(found.map((m) => m.text)).toContain('bulk 1234')
    } finally {
      ticking = false
    }
    // 20+ chunks of 500, each followed by a turn: it yielded all the way through.
    expect(turns).toBeGreaterThanOrEqual(10)
    expect(b.store.db.prepare('SELECT indexed_seq FROM messages_fts_progress').pluck().get()).toBe(b.store.db.prepare('SELECT MAX(seq) FROM messages').pluck().get())
  })

  it('refuses bad sends with typed errors', async () => {
    const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e: ContractError) => e.code)
    expect(await codeOf(a.service.sendMessage('not-a-peer-id-at-all-not-a-peer-id-at-all', 'x'))).toBe('invalid_params')
    expect(await codeOf(a.service.sendMessage(a.peerId, 'me'))).toBe('invalid_params')
    expect(await codeOf(a.service.sendMessage(b.peerId, ''))).toBe('invalid_params')
    // 16,384 control characters are within the length limit but encode far past 64 KiB.
    expect(await codeOf(a.service.sendMessage(b.peerId, '\u0001'.repeat(16_384)))).toBe('payload_too_large')
  })
})
