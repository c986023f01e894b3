// The channel wire: libp2p protocol /bsv-p2p/channel/2.0.0, varint length-prefixed JSON
// frames, one strict zod schema per frame kind (docs/protocol.md has them frame by frame).
// Requests carry a numeric id; the answer (`res` or `err`) repeats it, so one long-lived
// stream per peer carries many requests at once (pipelined payments). Each side sends
// requests on the stream it dialed and answers on streams it accepted. Who is speaking
// comes from the connection, never from a frame. Refusals carry the wire's own error codes
// (WIRE_ERROR_CODES), versioned with the protocol: a code the local API adds later never
// changes what a peer is sent or accepts.
import type { Connection, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Libp2pNode } from '../p2p/index.js'
import { FrameReader, lengthPrefixed } from '../kit/index.js'

export const CHANNEL_PROTOCOL = '/bsv-p2p/channel/2.0.0'
export const MAX_CHANNEL_FRAME_BYTES = 16 * 1024

/**
 * Why a peer refused a request, as the wire says it (protocol 2). Append only; never
 * rename or reuse one: both sides of every version must read the same code the same way.
 */
export const WIRE_ERROR_CODES = [
  /** The frame does not parse against its schema, or contradicts itself (listed payments that do not sum to the settlement's growth). */
  'malformed',
  /** No channel with this id between these two peers (or it is someone else's). */
  'unknown_channel',
  /** The channel's state does not expect this frame now (out of order, repeated, unsolicited). */
  'unexpected',
  /** The frame contradicts what this side holds (other terms, other funding, other split). */
  'conflict',
  /** Refused by policy: terms this side does not accept (fees, expiry, capacity, addresses). */
  'refused',
  /** A signature does not sign what it must with the key it must. */
  'bad_signature',
  /** Too many pending proposals from this peer or in all. */
  'limit',
  /** This channel is busy with other frames; retry shortly. */
  'busy',
  /** This side cannot answer now (stopping, chain unreachable); retry later. */
  'unavailable',
  /** An unexpected failure on this side. */
  'internal',
] as const
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number]

/** Retrying the same request later may succeed. */
function isRetryableWireCode(code: WireErrorCode | 'link_lost' | 'timeout'): boolean {
  return code === 'busy' || code === 'unavailable' || code === 'link_lost' || code === 'timeout'
}

/** A refusal this side sends a peer: thrown by a handler, answered with its wire code. */
export class ChannelRefusal extends Error {
  override readonly name = 'ChannelRefusal'
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const Id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const Sats = z.number().int().nonnegative().max(21_000_000 * 100_000_000)
const ChannelId = z.string().regex(/^[0-9a-f]{32}$/)
const Txid = z.string().regex(/^[0-9a-f]{64}$/)
const Vout = z.number().int().nonnegative().max(0xffffffff)
const Pub = z.string().regex(/^0[23][0-9a-f]{64}$/)
/** Shape only; the checksum and network are checked against this side's network (parseAddress). */
const Address = z.string().min(26).max(40).regex(/^[1-9A-HJ-NP-Za-km-z]+$/)
/** DER signature plus the sighash byte, hex. */
const Sig = z.string().regex(/^[0-9a-f]{16,146}$/)
const Seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER)
const Memo = z.string().max(256)
/** The most payments one coalesced settlement may list (payment-pipeline.ts keeps to it). */
export const MAX_PAYMENTS_PER_FRAME = 1000
/** One payment a coalesced settlement covers: its own amount (at least 1 sat) and memo. */
const PaymentEntry = z.object({ sats: Sats.min(1), memo: Memo.optional() }).strict()

const RequestSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('propose'), id: Id, channelId: ChannelId, capacitySats: Sats, expiry: z.number().int().positive().max(499_999_999), feeRate: z.number().int().nonnegative().max(100_000), settlementFeeSats: Sats, refundFeeSats: Sats, payerPub: Pub }).strict(),
  z.object({ t: z.literal('accept'), id: Id, channelId: ChannelId, payeePub: Pub }).strict(),
  z.object({ t: z.literal('reject'), id: Id, channelId: ChannelId }).strict(),
  z.object({ t: z.literal('signRefund'), id: Id, channelId: ChannelId, fundingTxid: Txid, fundingVout: Vout, payerAddress: Address }).strict(),
  z.object({ t: z.literal('funded'), id: Id, channelId: ChannelId, fundingTxid: Txid, fundingVout: Vout }).strict(),
  // `payments` (optional, added within 2.0.0): a coalesced settlement lists the payments it
  // covers (seq - length + 1 .. seq), whose amounts sum to the growth of `paidSats`; without
  // it the frame is one payment, as before. A peer that predates it refuses such a frame as
  // `malformed`, which stops that channel's payments (nothing signed is lost).
  z.object({ t: z.literal('pay'), id: Id, channelId: ChannelId, seq: Seq, paidSats: Sats, sig: Sig, memo: Memo.optional(), payments: z.array(PaymentEntry).min(1).max(MAX_PAYMENTS_PER_FRAME).optional() }).strict(),
  z.object({ t: z.literal('sync'), id: Id, channelId: ChannelId }).strict(),
  z.object({ t: z.literal('close'), id: Id, channelId: ChannelId, seq: Seq, paidSats: Sats }).strict(),
])
export type ChannelRequest = z.infer<typeof RequestSchema>
export type RequestKind = ChannelRequest['t']
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type OutgoingRequest = DistributiveOmit<ChannelRequest, 'id'>

const ResultSchemas = {
  propose: z.discriminatedUnion('decision', [
    z.object({ decision: z.literal('accepted'), payeePub: Pub }).strict(),
    z.object({ decision: z.literal('pending') }).strict(),
  ]),
  accept: z.object({}).strict(),
  reject: z.object({}).strict(),
  signRefund: z.object({ sig: Sig }).strict(),
  funded: z.discriminatedUnion('state', [
    z.object({ state: z.literal('open'), payeeAddress: Address }).strict(),
    z.object({ state: z.literal('waiting'), confirmations: z.number().int().nonnegative().max(1_000_000), required: z.number().int().nonnegative().max(1_000_000) }).strict(),
  ]),
  pay: z.object({ seq: Seq }).strict(),
  sync: z.object({ seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), paidSats: Sats }).strict(),
  close: z.object({ settlementTxid: Txid }).strict(),
} satisfies Record<RequestKind, z.ZodType>
export type ResultOf<K extends RequestKind> = z.infer<(typeof ResultSchemas)[K]>

const AnswerSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('res'), id: Id, result: z.record(z.string(), z.unknown()) }).strict(),
  z.object({ t: z.literal('err'), id: Id, code: z.enum(WIRE_ERROR_CODES), message: z.string().max(1000) }).strict(),
])

/** A refusal from the other side, or a link that broke (or went silent) before an answer came. */
export class ChannelPeerError extends Error {
  override readonly name = 'ChannelPeerError'
  constructor(
    readonly code: WireErrorCode | 'link_lost' | 'timeout',
    message: string,
  ) {
    super(message)
  }

  get retryable(): boolean {
    return isRetryableWireCode(this.code)
  }
}

function encodeFrame(value: unknown): Uint8Array {
  return lengthPrefixed(Buffer.from(JSON.stringify(value), 'utf8'))
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

/**
 * Writes frames in order, waiting for drain when the stream asks for it. Frames written in
 * the same turn (a pipelined burst, the acks of one group commit) leave as one write: one
 * encrypted transport frame instead of many.
 */
class FrameWriter {
  private queue: Uint8Array[] = []
  private waiting = false
  private scheduled = false
  constructor(private readonly stream: Stream) {}
  write(frame: Uint8Array): void {
    this.queue.push(frame)
    if (this.waiting || this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      if (!this.waiting) this.pump()
    })
  }
  private pump(): void {
    while (this.queue.length > 0) {
      if (this.stream.writeStatus !== 'writable') {
        this.queue = []
        return
      }
      const batch = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue)
      this.queue = []
      let more: boolean
      try {
        more = this.stream.send(batch)
      } catch {
        return
      }
      if (!more) {
        this.waiting = true
        this.stream.onDrain().then(
          () => {
            this.waiting = false
            this.pump()
          },
          () => {},
        )
        return
      }
    }
  }
}

export type RequestHandler = (peerId: string, req: ChannelRequest) => Promise<Record<string, unknown>>

export interface ServeHooks {
  /** A frame that never reached a handler: broken framing or a schema refusal. */
  onBadFrame(peerId: string, why: 'framing' | 'schema'): void
  /** What a handler threw, as the wire code the peer is sent (a non-refusal is `internal`). */
  toWireCode(err: unknown): WireErrorCode
  /** Called after each batch of frames (the handlers queued their writes synchronously). */
  afterFrames?(): void
}

/** Serves one accepted stream: every valid request goes to `handler`, its answer comes back. */
export function serveChannelStream(stream: Stream, connection: Connection, handler: RequestHandler, hooks: ServeHooks): void {
  const peerId = connection.remotePeer.toString()
  const reader = new FrameReader(MAX_CHANNEL_FRAME_BYTES)
  const writer = new FrameWriter(stream)
  stream.addEventListener('message', (evt: StreamMessageEvent) => {
    let frames: Uint8Array[]
    try {
      frames = reader.push(evt.data)
    } catch (err) {
      // One fixed reason: the error text names the frame's size, and a peer must not be able to mint metric series.
      hooks.onBadFrame(peerId, 'framing')
      stream.abort(err as Error)
      return
    }
    for (const bytes of frames) {
      const raw = parseJson(bytes)
      const parsed = RequestSchema.safeParse(raw)
      if (!parsed.success) {
        const id = Id.safeParse((raw as { id?: unknown } | undefined)?.id)
        hooks.onBadFrame(peerId, 'schema')
        if (id.success) writer.write(encodeFrame({ t: 'err', id: id.data, code: 'malformed', message: 'malformed channel frame' }))
        continue
      }
      const req = parsed.data
      handler(peerId, req).then(
        (result) => writer.write(encodeFrame({ t: 'res', id: req.id, result })),
        (err: unknown) => {
          const code = hooks.toWireCode(err)
          writer.write(encodeFrame({ t: 'err', id: req.id, code, message: code === 'internal' ? 'internal error' : String((err as Error).message).slice(0, 900) }))
        },
      )
    }
    // The handlers queued their writes synchronously: commit them now rather than a turn later.
    hooks.afterFrames?.()
  })
  stream.addEventListener('remoteCloseWrite', () => {
    stream.close().catch(() => {})
  })
}

interface Pending {
  kind: RequestKind
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

/**
 * Our requests to one peer over one stream we dialed, reused for everything. A broken
 * stream fails every request in flight with `link_lost`; the next request dials again.
 */
export class ChannelLink {
  private stream: Stream | null = null
  private opening: Promise<Stream> | null = null
  private writer: FrameWriter | null = null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private closed = false
  private lastAddr: Multiaddr | null = null

  constructor(
    private readonly libp2p: Libp2pNode,
    readonly peerId: string,
    private readonly timeoutMs: number,
  ) {}

  async request<K extends RequestKind>(frame: Extract<OutgoingRequest, { t: K }>): Promise<ResultOf<K>> {
    const stream = await this.open()
    const id = this.nextId++
    return new Promise<ResultOf<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new ChannelPeerError('timeout', `no answer to ${frame.t} within ${this.timeoutMs} ms`))
        // A stream that stays silent may sit on a dead connection: dial afresh next time.
        if (this.stream === stream) this.detach(new ChannelPeerError('link_lost', 'the channel stream went silent'))
      }, this.timeoutMs)
      this.pending.set(id, { kind: frame.t, resolve: resolve as (v: unknown) => void, reject, timer })
      if (this.stream !== stream || !this.writer) {
        this.fail(new ChannelPeerError('link_lost', 'the channel stream closed'))
        return
      }
      this.writer.write(encodeFrame({ ...frame, id }))
    })
  }

  close(): void {
    this.closed = true
    this.stream?.abort(new Error('closed'))
    this.detach(new ChannelPeerError('link_lost', 'the channel link closed'))
  }

  private open(): Promise<Stream> {
    if (this.closed) return Promise.reject(new ChannelPeerError('link_lost', 'the channel link closed'))
    if (this.stream && this.stream.status === 'open') return Promise.resolve(this.stream)
    const options = { runOnLimitedConnection: true, signal: AbortSignal.timeout(this.timeoutMs) }
    const peer = peerIdFromString(this.peerId)
    const lastAddr = this.lastAddr
    this.opening ??= this.libp2p
      .dialProtocol(peer, CHANNEL_PROTOCOL, options)
      // The peer store may have forgotten a peer whose connection died: its last address still works.
      .catch((err: unknown) => (lastAddr ? this.libp2p.dialProtocol(lastAddr, CHANNEL_PROTOCOL, options) : Promise.reject(err as Error)))
      .then(
        (stream) => {
          this.opening = null
          this.attach(stream)
          return stream
        },
        (err: unknown) => {
          this.opening = null
          throw new ChannelPeerError('link_lost', `cannot reach ${this.peerId}: ${(err as Error).message}`)
        },
      )
    return this.opening
  }

  private attach(stream: Stream): void {
    this.stream = stream
    // Only an address we dialed is one the peer listens on (an inbound connection's is its ephemeral port).
    const conn = this.libp2p.getConnections(peerIdFromString(this.peerId)).find((c) => c.direction === 'outbound')
    if (conn) this.lastAddr = conn.remoteAddr.toString().includes('/p2p/') ? conn.remoteAddr : conn.remoteAddr.encapsulate(`/p2p/${this.peerId}`)
    this.writer = new FrameWriter(stream)
    const reader = new FrameReader(MAX_CHANNEL_FRAME_BYTES)
    stream.addEventListener('message', (evt: StreamMessageEvent) => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(evt.data)
      } catch (err) {
        stream.abort(err as Error)
        return
      }
      for (const bytes of frames) {
        const parsed = AnswerSchema.safeParse(parseJson(bytes))
        if (!parsed.success) continue
        const answer = parsed.data
        const p = this.pending.get(answer.id)
        if (!p) continue
        this.pending.delete(answer.id)
        clearTimeout(p.timer)
        if (answer.t === 'err') {
          p.reject(new ChannelPeerError(answer.code, answer.message))
          continue
        }
        const result = ResultSchemas[p.kind].safeParse(answer.result)
        if (result.success) p.resolve(result.data)
        else p.reject(new ChannelPeerError('malformed', `malformed answer to ${p.kind}`))
      }
    })
    const onGone = (): void => {
      if (this.stream === stream) this.detach(new ChannelPeerError('link_lost', 'the channel stream closed'))
    }
    stream.addEventListener('close', (evt: StreamCloseEvent) => {
      void evt
      onGone()
    })
    stream.addEventListener('remoteCloseWrite', onGone)
  }

  private detach(err: Error): void {
    if (this.stream && this.stream.status === 'open') this.stream.abort(err)
    this.stream = null
    this.writer = null
    this.fail(err)
  }

  private fail(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(err)
    }
  }
}
