import type { Connection, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { LRUCache } from 'lru-cache'
import type { Message } from '../../../shared/contract/index.js'
import type { Logger } from '../../telemetry/index.js'
import { FrameReader, FrameReaderError, concatFrames } from '../../kit/index.js'
import { type NackCode, encodeAcks, encodeFrame, parseRequestFrame } from './frames.js'
import type { GroupCommit } from '../../store/index.js'
import type { MessageRepository } from './message-repository.js'
import type { MessagingMetrics } from './messaging-metrics.js'
import type { TokenBucket } from './token-bucket.js'

/** Where the answers to one stream's frames go. */
export interface Responder {
  ack(id: string): void
  nack(id: string, code: NackCode, retryAfterMs?: number): void
  /**
   * This frame is refused for the peer's rate, and so is everything after it on this
   * stream: answer it, take no later frame, close. The sender, told both, sends the rest
   * again in order once the peer's budget allows, so nothing waits for a timer.
   */
  refuseRest(id: string, retryAfterMs: number): void
  /** A refusal that cannot be answered (no id, or the answers' budget is spent): end the stream, so its sender knows at once. */
  reset(reason: string): void
}

export interface PeerBudget {
  /** Frames the peer may send. */
  frames: TokenBucket
  /** Refusals we are willing to write back. */
  nacks: TokenBucket
}

export interface MessageReceiverDeps {
  repository: MessageRepository
  commit: GroupCommit
  budgets: LRUCache<string, PeerBudget>
  newBudget: () => PeerBudget
  metrics: MessagingMetrics
  onStored: (message: Message) => void
  now?: () => number
}

/**
 * The decision for one inbound frame, given the authenticated peer it came from: rate
 * limit, validate, store (group commit), then answer. Kept apart from streams so that it
 * can be driven directly by the fuzz test with a real store.
 */
export class MessageReceiver {
  private readonly now: () => number

  constructor(private readonly deps: MessageReceiverDeps) {
    this.now = deps.now ?? Date.now
  }

  private budget(peerId: string): PeerBudget {
    let budget = this.deps.budgets.get(peerId)
    if (!budget) {
      budget = this.deps.newBudget()
      this.deps.budgets.set(peerId, budget)
    }
    return budget
  }

  handleFrame(peerId: string, bytes: Uint8Array, responder: Responder): void {
    const { metrics } = this.deps
    const budget = this.budget(peerId)
    if (!budget.frames.tryTake()) {
      // One refusal per stream (the stream then closes): a flooder buys one parse and one
      // answer per stream it opens, never one per frame it writes.
      const parsed = parseRequestFrame(bytes)
      const id = parsed.ok ? parsed.frame.id : parsed.id
      if (id === undefined) {
        metrics.rateLimited.inc({ answered: 'no' })
        responder.reset('rate limited')
        return
      }
      metrics.rateLimited.inc({ answered: 'yes' })
      responder.refuseRest(id, budget.frames.retryAfterMs())
      return
    }
    const parsed = parseRequestFrame(bytes)
    if (!parsed.ok) {
      metrics.rejected.inc({ reason: parsed.reason })
      if (parsed.id !== undefined && budget.nacks.tryTake()) responder.nack(parsed.id, parsed.reason)
      else responder.reset(parsed.reason)
      return
    }
    const { id, text, sentAt } = parsed.frame
    const receivedAt = this.now()
    this.deps.commit.enqueue(
      () => this.deps.repository.insertInbound(peerId, id, text, sentAt, receivedAt),
      (err, seq) => {
        if (err) {
          metrics.storeFailures.inc()
          responder.nack(id, 'unavailable')
          return
        }
        if (seq === null || seq === undefined) metrics.duplicates.inc()
        else {
          metrics.received.inc()
          this.deps.onStored({
            id,
            seq,
            peerId,
            direction: 'in',
            text,
            sentAt: new Date(sentAt).toISOString(),
            receivedAt: new Date(receivedAt).toISOString(),
            status: 'received',
          })
        }
        responder.ack(id)
      },
    )
  }
}

/** How long a stream refused for rate may stay open for its sender to close it. */
const REFUSED_LINGER_MS = 2_000

/**
 * One inbound stream: frames in, answers out. Answers produced in one turn (a whole
 * group commit) leave as one write; when the peer does not read them, we stop reading it.
 */
export class InboundSession implements Responder {
  private readonly reader: FrameReader
  private readonly peerId: string
  private ackIds: string[] = []
  private nackFrames: Uint8Array[] = []
  private flushQueued = false
  private closed = false
  private truncationCounted = false
  /** A frame was refused for rate: later frames on this stream are not taken. */
  private refusing = false

  constructor(
    private readonly stream: Stream,
    connection: Connection,
    private readonly receiver: MessageReceiver,
    private readonly commit: GroupCommit,
    private readonly metrics: MessagingMetrics,
    private readonly logger: Logger,
    maxFrameBytes: number,
    private readonly onEnd: (session: InboundSession) => void,
  ) {
    // The sender is whoever authenticated this connection; nothing in a frame can say otherwise.
    this.peerId = connection.remotePeer.toString()
    this.reader = new FrameReader(maxFrameBytes)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    stream.addEventListener('close', this.onClose)
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    if (this.closed) return
    let frames: Uint8Array[]
    try {
      frames = this.reader.push(evt.data)
    } catch (err) {
      const reason = err instanceof FrameReaderError ? err.reason : 'invalid'
      this.metrics.rejected.inc({ reason })
      this.logger.debug('inbound stream reset: bad framing', { peerId: this.peerId, reason })
      this.abort(err instanceof Error ? err : new Error(String(err)))
      return
    }
    if (this.refusing) {
      // The sender was told to stop and will send these again; they are not taken.
      if (frames.length > 0) this.metrics.rateLimited.inc({ answered: 'no' }, frames.length)
      return
    }
    for (const frame of frames) {
      this.receiver.handleFrame(this.peerId, frame, this)
      if (this.refusing || this.closed) {
        const left = frames.length - frames.indexOf(frame) - 1
        if (left > 0) this.metrics.rateLimited.inc({ answered: 'no' }, left)
        return
      }
    }
  }

  private readonly onRemoteCloseWrite = (): void => {
    // The sender is done: answer what is still being committed, then close our side.
    this.commit.flush()
    this.flush()
    this.countTruncation()
    this.stream.close().catch(() => {})
  }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    if (!this.closed && evt.error) this.countTruncation()
    this.detach()
  }

  private countTruncation(): void {
    if (this.truncationCounted || this.reader.buffered === 0) return
    this.truncationCounted = true
    this.metrics.rejected.inc({ reason: 'truncated' })
  }

  ack(id: string): void {
    if (this.closed) return
    this.ackIds.push(id)
    this.queueFlush()
  }

  nack(id: string, code: NackCode, retryAfterMs?: number): void {
    if (this.closed) return
    this.nackFrames.push(encodeFrame(retryAfterMs === undefined ? { t: 'nack', id, code } : { t: 'nack', id, code, retryAfterMs }))
    this.queueFlush()
  }

  refuseRest(id: string, retryAfterMs: number): void {
    if (this.closed || this.refusing) return
    this.refusing = true
    this.nack(id, 'rate_limited', retryAfterMs)
    // Frames taken before this one answer first (their commit now), then the refusal; then our side closes.
    this.commit.flush()
    this.flush()
    this.stream.close().catch(() => {})
    // An honest sender closes its side at once; one that keeps writing is cut off.
    setTimeout(() => this.abort(new Error('the peer kept writing after a refusal')), REFUSED_LINGER_MS).unref?.()
  }

  reset(reason: string): void {
    if (this.closed) return
    this.logger.debug('inbound stream reset: an unanswerable refusal', { peerId: this.peerId, reason })
    this.commit.flush()
    this.flush()
    this.abort(new Error(`refused: ${reason}`))
  }

  private queueFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => this.flush())
  }

  private flush(): void {
    this.flushQueued = false
    if (this.closed || (this.ackIds.length === 0 && this.nackFrames.length === 0)) return
    const frames = [...encodeAcks(this.ackIds), ...this.nackFrames]
    this.ackIds = []
    this.nackFrames = []
    if (this.stream.writeStatus !== 'writable') return
    try {
      if (!this.stream.send(concatFrames(frames))) {
        // The peer is not reading its answers: stop reading its requests until it does.
        this.stream.pause()
        this.stream.onDrain().then(
          () => this.stream.resume(),
          () => {},
        )
      }
    } catch {
      // The stream closed under us; its close event cleans up.
    }
  }

  abort(err: Error): void {
    if (this.closed) return
    this.stream.abort(err)
    this.detach()
  }

  private detach(): void {
    if (this.closed) return
    this.closed = true
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    this.stream.removeEventListener('close', this.onClose)
    this.onEnd(this)
  }
}
