import type { PeerId, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { Libp2pNode } from '../libp2p.js'
import { FrameReader, concatFrames, deadline, nextDelay } from '../../kit/index.js'
import type { Logger } from '../../telemetry/index.js'
import { MESSAGING_PROTOCOL, RETRY_BASE_MS, RETRY_MAX_MS } from './constants.js'
import { type NackCode, parseResponseFrame } from './frames.js'

/** One message on its way: queued, then in flight until acked, nacked or out of time. */
export interface PendingSend {
  readonly id: string
  /** The encoded, length-prefixed msg frame. */
  readonly frame: Uint8Array
  /** Send order: whatever is sent again goes back in this order, so the peer stores messages as they were sent. */
  readonly order: number
  /** performance.now() when it was queued (its waiting time is measured from here). */
  readonly queuedAt: number
  settled: boolean
}

export interface OutboundSessionDeps {
  peerId: PeerId
  libp2p: Libp2pNode
  window: number
  maxFrameBytes: number
  dialTimeoutMs: number
  idleCloseMs: number
  logger: Logger
  onAck(pending: PendingSend): void
  /** An ack for a message no longer waited for (it timed out, then arrived). */
  onLateAck(id: string): void
  onNack(pending: PendingSend, code: NackCode, retryAfterMs: number | undefined): void
  onRetry(): void
  onIdle(session: OutboundSession): void
  /**
   * The peer cannot be reached (a dial failed with no connection left): the session waits,
   * without dialling, until `kick()` (the peer is back, or something suggests it may be).
   */
  onAway(session: OutboundSession, err: Error): void
}

class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError'
}

/**
 * The sending half of a conversation with one peer: one long-lived stream, reused for
 * every message, with at most `window` messages unacknowledged. Frames are pipelined
 * and acks matched by id. When the stream or connection fails, everything unacknowledged
 * is sent again, in order, on a new stream (redialling if needed) with backoff; the
 * receiver stores each id once, so a resend never duplicates.
 */
export class OutboundSession {
  private readonly queue: PendingSend[] = []
  private readonly inflight = new Map<string, PendingSend>()
  private stream: Stream | null = null
  private reader: FrameReader | null = null
  private opening = false
  private retryCancel: (() => void) | null = null
  private idleTimer: NodeJS.Timeout | null = null
  private failures = 0
  private throttledUntil = 0
  private pauseTimer: NodeJS.Timeout | null = null
  private closed = false
  /** The peer is away: nothing is dialled until kick(); messages wait in the queue. */
  private parked = false
  private readonly abortController = new AbortController()
  /** Why the last dial failed; cleared once a stream opens. */
  lastDialError: Error | null = null

  constructor(private readonly deps: OutboundSessionDeps) {}

  get peerId(): string {
    return this.deps.peerId.toString()
  }

  /** Messages waiting or in flight. */
  get size(): number {
    return this.queue.length + this.inflight.size
  }

  /** Whether the peer is away (the last dial failed and no connection is open). */
  get away(): boolean {
    return this.parked
  }

  /** Try the peer again now (it connected, or announced itself), whatever the backoff said. */
  kick(): void {
    if (this.closed) return
    this.parked = false
    this.failures = 0
    this.retryCancel?.()
    this.retryCancel = null
    this.pump()
  }

  send(pending: PendingSend): void {
    if (this.closed) throw new SessionClosedError('session closed')
    this.clearIdle()
    this.insert(pending)
    this.pump()
  }

  /** The oldest message still waiting, for how long (ms); 0 when none waits. */
  oldestWaitMs(now = performance.now()): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const p of this.inflight.values()) if (!p.settled) oldest = Math.min(oldest, p.queuedAt)
    for (const p of this.queue) if (!p.settled) oldest = Math.min(oldest, p.queuedAt)
    return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, now - oldest)
  }

  /** How long the peer asked us to hold off (ms); 0 when not throttled. */
  throttledFor(now = performance.now()): number {
    return Math.max(0, Math.ceil(this.throttledUntil - now))
  }

  /**
   * The peer refused a message for rate: it goes back in the queue in its place, and
   * nothing is written for `ms` (the peer's retryAfterMs); then delivery resumes in order,
   * at the pace the peer takes it.
   */
  throttle(pending: PendingSend, ms: number): void {
    if (this.closed || pending.settled) return
    this.inflight.delete(pending.id)
    this.insert(pending)
    this.throttledUntil = Math.max(this.throttledUntil, performance.now() + ms)
    this.pump()
  }

  /** Sends `pending` again later, in its place (the peer could not store it just now). */
  resend(pending: PendingSend): void {
    if (this.closed || pending.settled) return
    this.inflight.delete(pending.id)
    this.insert(pending)
    this.pump()
  }

  /** Into the queue by send order (almost always at the end). */
  private insert(pending: PendingSend): void {
    const q = this.queue
    if (q.length === 0 || q[q.length - 1]!.order < pending.order) {
      q.push(pending)
      return
    }
    const at = q.findIndex((p) => p.order > pending.order)
    q.splice(at === -1 ? q.length : at, 0, pending)
  }

  /** Stop sending a message (deleted, expired): it leaves the window and the queue at once. */
  forget(pending: PendingSend): void {
    pending.settled = true
    this.inflight.delete(pending.id)
    const at = this.queue.indexOf(pending)
    if (at !== -1) this.queue.splice(at, 1)
    this.pump()
  }

  private pump(): void {
    if (this.closed) return
    const wait = this.throttledFor()
    if (wait > 0) {
      // Held off by the peer: resume when it said to, not before.
      this.pauseTimer ??= setTimeout(() => {
        this.pauseTimer = null
        this.pump()
      }, wait)
      this.pauseTimer.unref?.()
      return
    }
    const stream = this.stream
    if (!stream) {
      if (!this.parked && this.queue.some((p) => !p.settled)) this.open()
      else this.maybeIdle()
      return
    }
    if (stream.writableNeedsDrain) return
    const batch: Uint8Array[] = []
    let bytes = 0
    while (this.queue.length > 0 && this.inflight.size < this.deps.window && bytes < 256 * 1024) {
      const p = this.queue.shift()!
      if (p.settled) continue
      this.inflight.set(p.id, p)
      batch.push(p.frame)
      bytes += p.frame.byteLength
    }
    if (batch.length > 0) {
      try {
        if (!stream.send(concatFrames(batch))) {
          stream.onDrain().then(
            () => this.pump(),
            () => {},
          )
          return
        }
      } catch (err) {
        this.streamFailed(stream, err instanceof Error ? err : new Error(String(err)))
        return
      }
      // More may fit (the byte cap stopped us): continue after this turn.
      if (this.queue.length > 0 && this.inflight.size < this.deps.window) setImmediate(() => this.pump())
    }
    this.maybeIdle()
  }

  private open(): void {
    if (this.opening || this.retryCancel || this.closed) return
    this.opening = true
    const limit = deadline(this.deps.dialTimeoutMs, this.abortController.signal)
    this.deps.libp2p
      .dialProtocol(this.deps.peerId, MESSAGING_PROTOCOL, { runOnLimitedConnection: true, signal: limit.signal })
      .finally(limit.release)
      .then(
        (stream) => {
          this.opening = false
          if (this.closed) {
            stream.abort(new SessionClosedError('session closed'))
            return
          }
          this.lastDialError = null
          this.attach(stream)
          this.pump()
        },
        (err: unknown) => {
          this.opening = false
          if (this.closed) return
          this.lastDialError = err instanceof Error ? err : new Error(String(err))
          this.deps.logger.debug('message stream open failed', { peerId: this.peerId, err: this.lastDialError })
          if (this.deps.libp2p.getConnections(this.deps.peerId).length === 0) {
            // Away: no dialling on our own backoff any more; whoever watches the peer kicks us.
            this.parked = true
            this.deps.onAway(this, this.lastDialError)
          } else this.scheduleRetry()
        },
      )
  }

  private attach(stream: Stream): void {
    this.stream = stream
    this.reader = new FrameReader(this.deps.maxFrameBytes)
    const reader = this.reader
    const onMessage = (evt: StreamMessageEvent): void => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(evt.data)
      } catch (err) {
        this.streamFailed(stream, err as Error)
        return
      }
      for (const bytes of frames) {
        const parsed = parseResponseFrame(bytes)
        if (!parsed.ok) {
          this.deps.logger.debug('invalid answer frame ignored', { peerId: this.peerId })
          continue
        }
        const frame = parsed.frame
        if (frame.t === 'ack') {
          for (const id of frame.ids) {
            const p = this.inflight.get(id)
            if (p) {
              this.inflight.delete(id)
              this.failures = 0
              this.deps.onAck(p)
            } else this.deps.onLateAck(id)
          }
        } else {
          const p = this.inflight.get(frame.id)
          if (p) {
            this.inflight.delete(frame.id)
            this.deps.onNack(p, frame.code, frame.retryAfterMs)
          }
        }
      }
      this.pump()
    }
    const onClose = (evt: StreamCloseEvent): void => {
      this.streamFailed(stream, evt.error ?? new Error('stream closed'))
    }
    const onRemoteCloseWrite = (): void => {
      // The receiver will answer nothing more on this stream.
      this.streamFailed(stream, new Error('peer closed the stream'))
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
    stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite)
    this.detachStream = () => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite)
    }
  }

  private detachStream: () => void = () => {}

  private streamFailed(stream: Stream, err: Error): void {
    if (this.stream !== stream) return
    this.detachStream()
    this.stream = null
    this.reader = null
    if (stream.status === 'open') stream.abort(err)
    if (this.closed) return
    // Unacknowledged messages go back in their original order.
    const resend = [...this.inflight.values()].filter((p) => !p.settled)
    this.inflight.clear()
    for (const p of resend) this.insert(p)
    if (this.queue.some((p) => !p.settled)) {
      this.deps.logger.debug('message stream failed; resending', { peerId: this.peerId, resend: resend.length, err })
      this.scheduleRetry()
    }
  }

  private scheduleRetry(): void {
    if (this.retryCancel || this.closed) return
    // A peer that closed the stream after a rate refusal is pacing us, not failing: that
    // is the pause's to time, not the backoff's.
    const paced = this.throttledFor() > 0
    if (!paced) this.failures++
    this.deps.onRetry()
    // First retry at once (a stream reset is often just a closed relay circuit), then backoff with full jitter.
    const delay = paced || this.failures <= 1 ? 0 : nextDelay(this.failures - 1, { baseDelayMs: RETRY_BASE_MS, maxDelayMs: RETRY_MAX_MS })
    const handle = setTimeout(() => {
      this.retryCancel = null
      this.pump()
    }, delay)
    handle.unref?.()
    this.retryCancel = () => clearTimeout(handle)
  }

  private maybeIdle(): void {
    if (this.closed || this.idleTimer || this.size > 0) return
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null
      if (this.size === 0 && !this.closed) this.deps.onIdle(this)
    }, this.deps.idleCloseMs)
    this.idleTimer.unref?.()
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = null
  }

  /** Close the stream; returns what was still waiting so the caller can fail it. */
  close(): PendingSend[] {
    if (this.closed) return []
    this.closed = true
    this.clearIdle()
    this.retryCancel?.()
    this.retryCancel = null
    if (this.pauseTimer) clearTimeout(this.pauseTimer)
    this.pauseTimer = null
    this.abortController.abort(new SessionClosedError('session closed'))
    const left = [...this.inflight.values(), ...this.queue].filter((p) => !p.settled)
    this.inflight.clear()
    this.queue.length = 0
    const stream = this.stream
    this.stream = null
    this.detachStream()
    if (stream) {
      if (left.length === 0) stream.close().catch(() => stream.abort(new SessionClosedError('session closed')))
      else stream.abort(new SessionClosedError('session closed'))
    }
    return left
  }
}
