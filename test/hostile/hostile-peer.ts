// A real libp2p node on 127.0.0.1 that speaks the channel wire from its own encoder
// (wire.ts): it asks a daemon on a stream it dialed and matches answers by id, writes raw
// bytes when told to, and serves the daemon's requests however a test scripts it,
// including frames of its own the daemon never asked for.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream, StreamMessageEvent } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Libp2pNode, createNode } from '../../main/p2p/libp2p.js'
import { CHANNEL_PROTOCOL_ID, FrameReader, type WireAnswer, type WireRequest, decodeJson, encode, parseAnswer, parseRequest } from './wire.js'

const LIMITS = { maxConnections: 64, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 64 }

/**
 * Writes in order and honours back-pressure: libp2p resets a stream whose write buffer
 * overflows, and a flood of a thousand frames would otherwise do exactly that to us.
 */
class Writer {
  private queue: Uint8Array[] = []
  private pumping = false
  constructor(private readonly stream: Stream) {}

  write(bytes: Uint8Array): void {
    this.queue.push(bytes)
    if (!this.pumping) void this.pump()
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.queue.length > 0) {
        if (this.stream.writeStatus !== 'writable') {
          this.queue = []
          return
        }
        const batch = Buffer.concat(this.queue.splice(0))
        if (!this.stream.send(batch)) await this.stream.onDrain({ signal: AbortSignal.timeout(30_000) }).catch(() => {})
      }
    } catch {
      this.queue = []
    } finally {
      this.pumping = false
    }
  }
}

class LinkClosedError extends Error {
  override readonly name = 'LinkClosedError'
}

/** Our requests to one peer on one stream we dialed. */
export class WireLink {
  private readonly writer: Writer
  private readonly reader = new FrameReader()
  private readonly pending = new Map<number, { resolve: (a: WireAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  private nextId = 1
  /** Frames that came back and were not an answer we waited for. */
  readonly stray: unknown[] = []
  /** Resolves when the stream is gone; `reset` when the remote (or we) aborted it rather than closing it. */
  readonly closed: Promise<{ reset: boolean }>

  constructor(readonly stream: Stream) {
    this.writer = new Writer(stream)
    this.closed = new Promise((resolve) => {
      stream.addEventListener('close', (evt) => {
        this.failAll(new LinkClosedError(`the stream closed${evt.error ? `: ${evt.error.message}` : ''}`))
        resolve({ reset: evt.error !== undefined || stream.status === 'reset' || stream.status === 'aborted' })
      })
    })
    stream.addEventListener('message', (evt: StreamMessageEvent) => {
      let frames: Uint8Array[]
      try {
        frames = this.reader.push(evt.data.subarray())
      } catch (err) {
        stream.abort(err as Error)
        return
      }
      for (const bytes of frames) {
        const value = decodeJson(bytes)
        const answer = parseAnswer(value)
        const p = answer ? this.pending.get(answer.id) : undefined
        if (!answer || !p) {
          this.stray.push(value)
          continue
        }
        this.pending.delete(answer.id)
        clearTimeout(p.timer)
        p.resolve(answer)
      }
    })
  }

  get isOpen(): boolean {
    return this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** Sends `frame` with a fresh id (or the one given) and resolves with the matching answer. */
  request(frame: WireRequest, opts: { timeoutMs?: number; id?: number } = {}): Promise<WireAnswer> {
    const id = opts.id ?? this.nextId++
    return new Promise<WireAnswer>((resolve, reject) => {
      if (!this.isOpen) {
        reject(new LinkClosedError('the stream is not open'))
        return
      }
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`no answer to ${frame.t} #${id} within ${opts.timeoutMs ?? 15_000} ms`))
      }, opts.timeoutMs ?? 15_000)
      this.pending.set(id, { resolve, reject, timer })
      this.writer.write(encode({ ...frame, id }))
    })
  }

  /** Any value, framed by our encoder, without waiting for anything. */
  send(value: unknown): void {
    this.writer.write(encode(value))
  }

  /** Bytes exactly as given: broken framing goes this way. */
  sendRaw(bytes: Uint8Array): void {
    this.writer.write(bytes)
  }

  /** Waits for the answer to a frame sent with `send` (by its id). */
  answerTo(id: number, timeoutMs = 15_000): Promise<WireAnswer> {
    return new Promise<WireAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`no answer to #${id} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
    })
  }

  close(): void {
    this.stream.abort(new Error('closed by the test'))
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(err)
    }
  }
}

/** What the script answers a request the daemon sent us. */
export type Reply = { result: Record<string, unknown> } | { error: string; message?: string } | { silence: true } | { raw: unknown }
export type ServedRequest = WireRequest & { id: number }
export type Script = (req: ServedRequest, from: string) => Reply | Promise<Reply>

export class HostilePeer {
  /** Every request the daemon sent us, in arrival order (bad ones too, as `{ bad: value }`). */
  readonly served: (ServedRequest | { bad: unknown })[] = []
  script: Script = () => ({ error: 'unavailable', message: 'no script' })
  private readonly links = new Map<string, WireLink>()
  private readonly inbound = new Set<Stream>()

  private constructor(readonly node: Libp2pNode) {}

  static async start(): Promise<HostilePeer> {
    const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: LIMITS, mdns: false, pubsub: false })
    await node.start()
    const peer = new HostilePeer(node)
    await node.handle(CHANNEL_PROTOCOL_ID, (stream, connection) => peer.serve(stream, connection), { runOnLimitedConnection: true, maxInboundStreams: 256 })
    return peer
  }

  get peerId(): string {
    return this.node.peerId.toString()
  }

  get multiaddr(): string {
    const tcp = this.node.getMultiaddrs().map((m) => m.toString()).find((m) => m.startsWith('/ip4/127.0.0.1/tcp/'))
    if (!tcp) throw new Error('the hostile peer listens nowhere')
    return tcp
  }

  async connect(addr: string): Promise<void> {
    await this.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  }

  /** A new stream to `peerId` for our requests. */
  async freshLink(peerId: string): Promise<WireLink> {
    const stream = await this.node.dialProtocol(peerIdFromString(peerId), CHANNEL_PROTOCOL_ID, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    return new WireLink(stream)
  }

  /** The long-lived request stream to `peerId`, dialed again if it went away. */
  async link(peerId: string): Promise<WireLink> {
    const known = this.links.get(peerId)
    if (known?.isOpen) return known
    const fresh = await this.freshLink(peerId)
    this.links.set(peerId, fresh)
    return fresh
  }

  /** Convenience: one request on the long-lived stream. */
  async ask(peerId: string, frame: WireRequest, timeoutMs?: number): Promise<WireAnswer> {
    return (await this.link(peerId)).request(frame, timeoutMs === undefined ? {} : { timeoutMs })
  }

  async stop(): Promise<void> {
    for (const l of this.links.values()) l.close()
    for (const s of this.inbound) s.abort(new Error('stopping'))
    await this.node.stop()
  }

  private serve(stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    const reader = new FrameReader()
    const writer = new Writer(stream)
    this.inbound.add(stream)
    stream.addEventListener('close', () => this.inbound.delete(stream))
    stream.addEventListener('remoteCloseWrite', () => {
      stream.close().catch(() => {})
    })
    stream.addEventListener('message', (evt: StreamMessageEvent) => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(evt.data.subarray())
      } catch (err) {
        stream.abort(err as Error)
        return
      }
      for (const bytes of frames) {
        const value = decodeJson(bytes)
        const req = parseRequest(value)
        if (!req) {
          this.served.push({ bad: value })
          const id = (value as { id?: unknown } | undefined)?.id
          if (typeof id === 'number') writer.write(encode({ t: 'err', id, code: 'malformed', message: 'malformed channel frame' }))
          continue
        }
        this.served.push(req)
        Promise.resolve()
          .then(() => this.script(req, from))
          .then(
            (reply) => {
              if ('silence' in reply) return
              if ('raw' in reply) writer.write(encode(reply.raw))
              else if ('result' in reply) writer.write(encode({ t: 'res', id: req.id, result: reply.result }))
              else writer.write(encode({ t: 'err', id: req.id, code: reply.error, message: reply.message ?? reply.error }))
            },
            (err: unknown) => writer.write(encode({ t: 'err', id: req.id, code: 'internal', message: String((err as Error)?.message ?? err).slice(0, 500) })),
          )
      }
    })
  }
}
