import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../store/index.js'
import { Metrics } from '../../telemetry/index.js'
import { DEFAULT_MAX_FRAME_BYTES } from './constants.js'
import { FrameReader, FrameReaderError, encodeVarint, lengthPrefixed } from '../../kit/index.js'
import { MsgFrameSchema, encodeFrame, parseRequestFrame } from './frames.js'
import { GroupCommit } from '../../store/index.js'
import { MessageReceiver, type PeerBudget, type Responder } from './inbound.js'
import { MessageRepository } from './message-repository.js'
import { MessagingMetrics } from './messaging-metrics.js'
import { messagingMigrations } from './migrations.js'
import { type TestPeer, metricValue, openRaw, rawFrame, startPeer } from './test/fixtures.js'
import { type Prng, prng } from '../../../test/chaos/support/fuzz/prng.js'
import { TokenBucket } from './token-bucket.js'

const PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const OTHER_PEER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const VALID = { t: 'msg', id: 'abcdefgh-1234', text: 'hello', sentAt: 1_700_000_000_000 }

/** JSON values that are well-formed but wrong: every one must be refused. */
function wrongFrame(r: Prng): unknown {
  const base: Record<string, unknown> = { ...VALID, id: `fuzz-${r.int(1e9)}-${r.int(1e9)}` }
  switch (r.int(16)) {
    case 0:
      return { ...base, from: OTHER_PEER } // a forged sender field
    case 1:
      return { ...base, sender: OTHER_PEER, peerId: OTHER_PEER }
    case 2: {
      const copy = { ...base }
      delete copy[r.pick(['t', 'id', 'text', 'sentAt'])]
      return copy
    }
    case 3:
      return { ...base, t: r.pick(['ack', 'nack', 'MSG', '', 'msg ', 1, null]) }
    case 4:
      return { ...base, id: r.pick(['', 'short', 'x'.repeat(65), 'has space in it', 'bad/char!', 'ünïcode-id', 12345678, null, ['a']]) }
    case 5:
      return { ...base, text: r.pick(['', 5, null, true, ['hi'], { s: 'hi' }]) }
    case 6:
      return { ...base, text: 'y'.repeat(16_385 + r.int(100)) }
    case 7:
      return { ...base, sentAt: r.pick([-1, 1.5, '1700000000000', null, Number.MAX_SAFE_INTEGER, 1e300]) }
    case 8:
      return r.pick([null, 0, 'msg', [], [base], true, {}])
    case 9:
      return { ...base, [`extra${r.int(100)}`]: r.int(100) }
    case 10:
      return { t: 'ack', ids: [base.id] }
    case 11:
      return { ...base, __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }
    case 12:
      return { ...base, text: { toString: 'x' } }
    case 13:
      return { t: 'nack', id: base.id, code: 'invalid' }
    case 14:
      return { ...base, id: r.pick(['a'.repeat(7), '<script>1</script>', 'x\u0000yyyyyyy']) }
    default:
      return { ...base, status: 'delivered', seq: 1 }
  }
}

/** Bytes that are not a valid msg payload: garbage, broken UTF-8, cut JSON, wrong JSON. */
function badPayload(r: Prng): Uint8Array {
  const valid = new TextEncoder().encode(JSON.stringify({ ...VALID, id: `ok-${r.int(1e9)}-x` }))
  switch (r.int(5)) {
    case 0:
      return r.bytes(r.int(300))
    case 1: {
      // Cut JSON: an object that never closes cannot parse.
      return valid.slice(0, r.int(valid.byteLength - 1))
    }
    case 2: {
      // Invalid UTF-8 anywhere is refused by the fatal decoder.
      const copy = valid.slice()
      copy[r.int(copy.byteLength)] = r.pick([0xff, 0xfe, 0xc0, 0x80])
      return copy
    }
    case 3: {
      const copy = new Uint8Array(valid.byteLength + 1)
      copy.set(valid)
      copy[valid.byteLength] = r.pick([0x7b, 0x2c, 0x5b, 0x22]) // trailing { , [ "
      return copy
    }
    default:
      return new TextEncoder().encode(JSON.stringify(wrongFrame(r)))
  }
}

describe('frame fuzzing: the decoder and the receiver directly', () => {
  let dir: string
  let store: Store
  let commit: GroupCommit
  let receiver: MessageReceiver
  let metrics: Metrics
  const answers: { kind: 'ack' | 'nack' | 'reset'; id: string; code?: string }[] = []
  const responder: Responder = {
    ack: (id) => answers.push({ kind: 'ack', id }),
    nack: (id, code) => answers.push({ kind: 'nack', id, code }),
    refuseRest: (id) => answers.push({ kind: 'nack', id, code: 'rate_limited' }),
    reset: (reason) => answers.push({ kind: 'reset', id: '', code: reason }),
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bsv-msg-fuzz-'))
    store = new Store({ dataDir: dir, migrations: messagingMigrations })
    await store.start()
    metrics = new Metrics()
    commit = new GroupCommit(store, {
      onCallbackError: (err) => {
        throw err
      },
    })
    receiver = new MessageReceiver({
      repository: new MessageRepository(store),
      commit,
      budgets: new LRUCache<string, PeerBudget>({ max: 10 }),
      newBudget: () => ({ frames: new TokenBucket({ ratePerSec: 1e9, burst: 1e9 }), nacks: new TokenBucket({ ratePerSec: 1e9, burst: 1e9 }) }),
      metrics: new MessagingMetrics(metrics),
      onStored: () => {},
    })
  })

  afterAll(async () => {
    await store.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('120,000 bad payloads: never a throw, never a write, every one counted', async () => {
    const r = prng(0xb5f)
    const n = 120_000
    for (let i = 0; i < n; i++) {
      const payload = badPayload(r)
      try {
        receiver.handleFrame(PEER, payload, responder)
      } catch (err) {
        throw new Error(`input ${i} threw ${String(err)}: ${Buffer.from(payload).toString("hex").slice(0, 200)}`, { cause: err })
      }
      if (commit.queued !== 0) throw new Error(`input ${i} was queued for storage: ${Buffer.from(payload).toString('hex').slice(0, 200)}`)
    }
    commit.flush()
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n).toBe(0)
    expect(await metricValue(metrics, 'messaging_frames_rejected_total')).toBe(n)
    // Every refusal is answered, or (when it cannot be: no id, or the answers' budget spent) its stream ends: none is silent.
    expect(answers.every((a) => a.kind === 'nack' || a.kind === 'reset')).toBe(true)
    expect(answers).toHaveLength(n)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a frame with a sender field is refused by the strict schema; a valid one is stored under the connection peer', () => {
    expect(MsgFrameSchema.safeParse({ ...VALID, from: OTHER_PEER }).success).toBe(false)
    expect(parseRequestFrame(new TextEncoder().encode(JSON.stringify({ ...VALID, from: OTHER_PEER })))).toMatchObject({ ok: false, reason: 'invalid', id: VALID.id })
    receiver.handleFrame(PEER, encodeFrame(VALID as never).subarray(1), responder)
    commit.flush()
    const rows = store.db.prepare('SELECT peer_id, msg_id FROM messages').all()
    expect(rows).toEqual([{ peer_id: PEER, msg_id: VALID.id }])
  })

  it('the same id twice (a retry or a replay) is stored once and acked both times', () => {
    answers.length = 0
    const frame = encodeFrame({ t: 'msg', id: 'replayed-0001', text: 'once', sentAt: 1 }).subarray(1)
    receiver.handleFrame(PEER, frame, responder)
    commit.flush()
    receiver.handleFrame(PEER, frame, responder)
    receiver.handleFrame(PEER, frame, responder)
    commit.flush()
    expect((store.db.prepare(`SELECT COUNT(*) AS n FROM messages WHERE msg_id = 'replayed-0001'`).get() as { n: number }).n).toBe(1)
    expect(answers).toEqual([
      { kind: 'ack', id: 'replayed-0001' },
      { kind: 'ack', id: 'replayed-0001' },
      { kind: 'ack', id: 'replayed-0001' },
    ])
    // The same id from another peer is another message.
    receiver.handleFrame(OTHER_PEER, frame, responder)
    commit.flush()
    expect((store.db.prepare(`SELECT COUNT(*) AS n FROM messages WHERE msg_id = 'replayed-0001'`).get() as { n: number }).n).toBe(2)
  })

  it('the length-prefix reader survives 100,000 random chunkings and byte streams', () => {
    const r = prng(7)
    let frames = 0
    let resets = 0
    for (let i = 0; i < 100_000; i++) {
      const reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES)
      const kind = r.int(4)
      let stream: Uint8Array
      if (kind === 0) stream = r.bytes(r.int(64))
      else if (kind === 1) stream = Uint8Array.from([...encodeVarint(DEFAULT_MAX_FRAME_BYTES + 1 + r.int(1e9)), ...r.bytes(8)])
      else if (kind === 2) stream = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
      else {
        const payloads = Array.from({ length: 1 + r.int(4) }, () => r.bytes(r.int(40)))
        stream = Uint8Array.from(payloads.flatMap((p) => [...lengthPrefixed(p)]))
      }
      try {
        for (let off = 0; off < stream.byteLength; ) {
          const len = 1 + r.int(16)
          frames += reader.push(stream.subarray(off, off + len)).length
          off += len
        }
        if (reader.buffered > stream.byteLength) throw new Error(`input ${i} buffered more than it was given`)
      } catch (err) {
        if (!(err instanceof FrameReaderError)) throw new Error(`input ${i} threw ${String(err)}`, { cause: err })
        resets++
      }
    }
    expect(frames).toBeGreaterThan(0)
    expect(resets).toBeGreaterThan(0)
  })

  it('reassembles frames split at every byte boundary', () => {
    const payloads = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(300).fill(7), new Uint8Array(DEFAULT_MAX_FRAME_BYTES).fill(9)]
    const all = Uint8Array.from(payloads.flatMap((p) => [...lengthPrefixed(p)]))
    for (const step of [1, 2, 3, 127, 128, 129, 65_536]) {
      const reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES)
      const out: Uint8Array[] = []
      for (let off = 0; off < all.byteLength; off += step) out.push(...reader.push(all.subarray(off, off + step)))
      expect(out.map((f) => f.byteLength)).toEqual(payloads.map((p) => p.byteLength))
      expect(reader.buffered).toBe(0)
    }
    expect(() => new FrameReader(100).push(encodeVarint(101))).toThrow(FrameReaderError)
  })
})

describe('frame fuzzing against a live node over real streams', () => {
  let a: TestPeer
  let b: TestPeer

  beforeAll(async () => {
    a = await startPeer()
    b = await startPeer({ init: { rateLimit: { ratePerSec: 1_000_000, burst: 1_000_000 } } })
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
  })

  const count = (): number => (b.store.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n

  it('5,000 bad frames, an oversized prefix and a truncated frame change nothing; the node keeps serving', async () => {
    const r = prng(42)
    const bad = 5_000
    const frames: Uint8Array[] = []
    for (let i = 0; i < bad; i++) frames.push(lengthPrefixed(badPayload(r)))
    // A refusal the node cannot answer (no id, or its answers' budget spent) ends that
    // stream, so a sender is never left waiting: the garbage goes over as many streams as that takes.
    let raw = await openRaw(a.libp2p, b.libp2p)
    let streams = 1
    for (let i = 0; i < frames.length; i += 100) {
      if (raw.stream.status !== 'open') {
        raw = await openRaw(a.libp2p, b.libp2p)
        streams++
      }
      try {
        if (!raw.write(Uint8Array.from(frames.slice(i, i + 100).flatMap((f) => [...f])))) await raw.stream.onDrain()
      } catch {
        // Reset while we wrote: the next batch goes on a new stream.
      }
      await new Promise((res) => setTimeout(res, 2))
    }
    expect(streams).toBeLessThanOrEqual(bad / 100 + 1)
    expect(count()).toBe(0)
    expect(await metricValue(b.metrics, 'messaging_frames_rejected_total')).toBeGreaterThan(0)
    expect(await metricValue(b.metrics, 'messaging_frames_rejected_total')).toBeLessThanOrEqual(bad)
    // A fresh stream with a valid message is served.
    raw = await openRaw(a.libp2p, b.libp2p)
    raw.write(rawFrame({ t: 'msg', id: 'after-garbage-1', text: 'still here', sentAt: 1 }))
    const until = Date.now() + 20_000
    while (!raw.answers.some((f) => f.t === 'ack') && Date.now() < until) await new Promise((res) => setTimeout(res, 20))
    expect(raw.answers.some((f) => f.t === 'ack' && f.ids.includes('after-garbage-1'))).toBe(true)
    expect(count()).toBe(1)
    await raw.close()

    // A length prefix past the limit resets that stream, and only that stream.
    const tooLargeBefore = await metricValue(b.metrics, 'messaging_frames_rejected_total', { reason: 'too_large' })
    const big = await openRaw(a.libp2p, b.libp2p)
    big.write(encodeVarint(DEFAULT_MAX_FRAME_BYTES + 1))
    await new Promise<void>((res) => big.stream.addEventListener('close', () => res(), { once: true }))
    expect(await metricValue(b.metrics, 'messaging_frames_rejected_total', { reason: 'too_large' })).toBe(tooLargeBefore + 1)

    // A frame cut short by the end of the stream is counted and not stored.
    const cut = await openRaw(a.libp2p, b.libp2p)
    const whole = rawFrame({ t: 'msg', id: 'truncated-001', text: 'never whole', sentAt: 1 })
    cut.write(whole.subarray(0, whole.byteLength - 5))
    await cut.close()
    const until2 = Date.now() + 10_000
    while ((await metricValue(b.metrics, 'messaging_frames_rejected_total', { reason: 'truncated' })) < 1 && Date.now() < until2) {
      await new Promise((res) => setTimeout(res, 20))
    }
    expect(await metricValue(b.metrics, 'messaging_frames_rejected_total', { reason: 'truncated' })).toBe(1)
    expect(count()).toBe(1)

    // And the node still serves the real protocol.
    await a.service.sendMessage(b.peerId, 'after the storm')
    expect(count()).toBe(2)
  })

  it('a frame claiming another sender is refused; nothing is stored under that sender', async () => {
    const raw = await openRaw(a.libp2p, b.libp2p)
    raw.write(rawFrame({ t: 'msg', id: 'forged-00001', text: 'I am someone else', sentAt: 1, from: OTHER_PEER }))
    const until = Date.now() + 10_000
    while (raw.answers.length === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 20))
    expect(raw.answers).toEqual([{ t: 'nack', id: 'forged-00001', code: 'invalid' }])
    expect(b.store.db.prepare('SELECT COUNT(*) AS n FROM messages WHERE peer_id = ?').get(OTHER_PEER)).toEqual({ n: 0 })
    expect(b.store.db.prepare(`SELECT COUNT(*) AS n FROM messages WHERE msg_id = 'forged-00001'`).get()).toEqual({ n: 0 })
    await raw.close()
  })
})
