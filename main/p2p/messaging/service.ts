import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { LRUCache } from 'lru-cache'
import { ContractError, MESSAGE_TEXT_MAX, type Message } from '../../../shared/contract/index.js'
import type { EventBus } from '../../engine/event-bus.js'
import type { IdempotencyScope } from '../../idempotency/index.js'
import { Disposables, type Startable } from '../../lifecycle/index.js'
import type { Store } from '../../store/index.js'
import type { Logger, Metrics } from '../../telemetry/index.js'
import type { Libp2pNode } from '../libp2p.js'
import { DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_WINDOW, INDEX_CHUNK_ROWS, INDEX_INTERVAL_MS, MESSAGING_PROTOCOL, MAX_COMMIT_BATCH } from './constants.js'
import { type NackCode, encodeFrame } from './frames.js'
import { GroupCommit } from '../../store/index.js'
import { InboundSession, MessageReceiver, type PeerBudget } from './inbound.js'
import { keyedMessageId, newMessageId } from './message-id.js'
import { MessageRepository, toFtsQuery } from './message-repository.js'
import { MessagingMetrics } from './messaging-metrics.js'
import { OutboundSession, type PendingSend } from './outbound-session.js'
import { type MessagingInit, type ResolvedMessagingInit, resolveMessagingInit } from './settings.js'
import { TokenBucket } from './token-bucket.js'

export interface MessagingComponents {
  /** Anything that holds the started libp2p node (P2PNode, or `{ libp2p }` in tests). */
  node: { readonly libp2p: Libp2pNode }
  store: Store
  logger: Logger
  metrics: Metrics
  events: EventBus
}

/** A peer's queue full for this long (callers refused all the while) is a health reason. */
const FULL_QUEUE_REASON_AFTER_MS = 30_000

interface Waiter {
  pending: PendingSend
  peerId: string
  seq: number
  text: string
  sentAt: number
  resolve: (value: { id: string }) => void
  reject: (err: Error) => void
  cancelDeadline: () => void
  session: OutboundSession
}

/**
 * Direct messages between peers over `/bsv-p2p/msg/1.0.0`: acknowledged end to end
 * (the receiver acks only after a durable commit), idempotent by message id, rate limited
 * per peer, stored in SQLite with full-text search.
 */
export class MessagingService implements Startable {
  readonly repository: MessageRepository
  private readonly init: ResolvedMessagingInit
  private readonly logger: Logger
  private readonly m: MessagingMetrics
  private disposables = new Disposables()
  private commit: GroupCommit | null = null
  private receiver: MessageReceiver | null = null
  private readonly sessions = new Map<string, OutboundSession>()
  private readonly inbound = new Set<InboundSession>()
  private readonly waiters = new Map<PendingSend, Waiter>()
  private running = false
  private indexing = false
  /** Send order across all peers (each session keeps its own messages in it). */
  private nextOrder = 0
  /** Peers whose queue is full, since when (a queue that stays full is a health reason). */
  private readonly fullSince = new Map<string, number>()

  constructor(
    private readonly components: MessagingComponents,
    init: MessagingInit = {},
  ) {
    this.init = resolveMessagingInit(init)
    this.logger = components.logger.child('messaging')
    this.m = new MessagingMetrics(components.metrics, () => [...this.sessions.values()].map((s) => ({ peerId: s.peerId, size: s.size, oldestWaitMs: s.oldestWaitMs() })))
    this.repository = new MessageRepository(components.store)
  }

  get isRunning(): boolean {
    return this.running
  }

  /** Counts for health and diagnostics. */
  stats(): { outboundSessions: number; inboundStreams: number; pendingSends: number } {
    return { outboundSessions: this.sessions.size, inboundStreams: this.inbound.size, pendingSends: this.waiters.size }
  }

  /** Resolved settings (for health and tests). */
  get settings(): Readonly<ResolvedMessagingInit> {
    return this.init
  }

  async start(): Promise<void> {
    if (this.running) return
    this.disposables = new Disposables()
    const commit = new GroupCommit(this.components.store, (n) => this.m.commitBatch.observe(n), MAX_COMMIT_BATCH)
    this.commit = commit
    const budgets = new LRUCache<string, PeerBudget>({ max: this.init.maxTrackedPeers })
    this.receiver = new MessageReceiver({
      repository: this.repository,
      commit,
      budgets,
      newBudget: () => ({
        frames: new TokenBucket(this.init.rateLimit),
        // A whole window of a well-behaved sender (default settings) can be refused explicitly; a flooder past that hears nothing.
        nacks: new TokenBucket({ ratePerSec: this.init.nackRatePerSec, burst: Math.max(this.init.nackRatePerSec, DEFAULT_WINDOW) }),
      }),
      metrics: this.m,
      onStored: (message) => this.components.events.emit('message', message),
    })
    const libp2p = this.components.node.libp2p
    await libp2p.handle(MESSAGING_PROTOCOL, (stream, connection) => this.onInboundStream(stream, connection), {
      runOnLimitedConnection: true,
      maxInboundStreams: this.init.maxInboundStreams,
      maxOutboundStreams: DEFAULT_MAX_OUTBOUND_STREAMS,
    })
    this.disposables.add(() => libp2p.unhandle(MESSAGING_PROTOCOL))
    this.disposables.interval(() => this.indexInBackground(), INDEX_INTERVAL_MS)
    this.running = true
  }

  /**
   * Full-text indexing behind the hot path: small chunks, yielding between them, so that
   * neither message commits nor acks wait for tokenising. Search catches up on its own.
   */
  private indexInBackground(): void {
    if (!this.running || this.indexing) return
    this.indexing = true
    const step = (): void => {
      let done = 0
      try {
        done = this.running ? this.repository.indexPending(INDEX_CHUNK_ROWS) : 0
      } catch (err) {
        this.logger.warn('full-text indexing failed; will retry', { err })
      }
      if (done > 0) setImmediate(step)
      else this.indexing = false
    }
    step()
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    const stopped = new ContractError('unavailable', 'messaging stopped')
    for (const session of [...this.sessions.values()]) this.closeSession(session, stopped)
    // Those waiting out a receiver's 'unavailable' between attempts are in no session.
    for (const pending of [...this.waiters.keys()]) this.fail(pending, stopped)
    for (const session of [...this.inbound]) session.abort(new Error('messaging stopped'))
    this.inbound.clear()
    // Commit what was received, so its acks (if still deliverable) tell the truth.
    try {
      this.commit?.flush()
    } catch {
      this.commit?.failAll(new Error('messaging stopped'))
    }
    this.commit = null
    this.receiver = null
    await this.disposables.dispose()
  }

  private onInboundStream(stream: Stream, connection: Connection): void {
    const receiver = this.receiver
    const commit = this.commit
    if (!this.running || !receiver || !commit) {
      stream.abort(new Error('messaging not running'))
      return
    }
    const session = new InboundSession(stream, connection, receiver, commit, this.m, this.logger, this.init.maxFrameBytes, (s) => this.inbound.delete(s))
    this.inbound.add(session)
  }

  /** Resolves with the message id once the peer has durably stored the message. */
  async sendMessage(peerIdText: string, text: string, scope: IdempotencyScope | null = null): Promise<{ id: string }> {
    const commit = this.commit
    if (!this.running || !commit) throw new ContractError('unavailable', 'messaging is not running')
    let peerId: PeerId
    try {
      peerId = peerIdFromString(peerIdText)
    } catch {
      throw new ContractError('invalid_params', 'peerId is not a valid peer id', { path: 'peerId' })
    }
    const key = peerId.toString()
    if (key === this.components.node.libp2p.peerId.toString()) throw new ContractError('invalid_params', 'cannot send a message to this node itself', { path: 'peerId' })
    if (text.length === 0 || text.length > MESSAGE_TEXT_MAX) throw new ContractError('invalid_params', `text must be 1 to ${MESSAGE_TEXT_MAX} characters`, { path: 'text' })
    const sentAt = Date.now()
    // A keyed send's id follows from its key: its retry is the same message to the peer.
    const id = scope ? keyedMessageId(scope.key, key, text) : newMessageId(sentAt)
    if (scope && this.repository.outboundStatus(key, id) === 'delivered') return { id }
    const frame = encodeFrame({ t: 'msg', id, text, sentAt })
    if (frame.byteLength > this.init.maxFrameBytes) {
      throw new ContractError('payload_too_large', `message encodes to ${frame.byteLength} bytes; the limit is ${this.init.maxFrameBytes}`, { path: 'text' })
    }
    let session = this.sessions.get(key)
    // Messages wait in order and leave at the pace the peer takes them; only a full queue refuses.
    if (session && session.size >= this.init.maxQueuedPerPeer) {
      if (!this.fullSince.has(key)) this.fullSince.set(key, Date.now())
      this.m.sendFailures.inc({ code: 'rate_limited' })
      const retryAfterMs = Math.max(1000, session.throttledFor())
      throw new ContractError('rate_limited', `${session.size} messages are already waiting for this peer (the most a peer may have waiting); try again later`, { peerId: key, retryAfterMs, queued: session.size })
    }
    this.fullSince.delete(key)
    session = this.sessionFor(peerId)
    const pending: PendingSend = { id, frame, order: this.nextOrder++, queuedAt: performance.now(), settled: false }
    return new Promise<{ id: string }>((resolve, reject) => {
      const timer = setTimeout(() => this.onDeadline(pending), this.init.deadlineMs)
      timer.unref?.()
      const waiter: Waiter = { pending, peerId: key, seq: 0, text, sentAt, resolve, reject, cancelDeadline: () => clearTimeout(timer), session }
      this.waiters.set(pending, waiter)
      // The pending row is committed in the same turn as the frame leaves, not before it:
      // the commit overlaps the network trip instead of adding an fsync to every message.
      // Its delivered/failed update is queued later, so it always lands after this insert.
      // A crash within that turn can lose our record of a message the peer got; never
      // the reverse (a message reported delivered that the peer does not have).
      commit.enqueue(
        () => {
          if (!scope) return this.repository.insertOutbound(key, id, text, sentAt)
          scope.bind({ kind: 'message', peerId: key, id })
          return this.repository.upsertOutbound(key, id, text, sentAt)
        },
        (err, seq) => {
          if (err) {
            this.m.storeFailures.inc()
            this.logger.error('could not record an outbound message', { err })
          } else waiter.seq = seq ?? 0
        },
      )
      session.send(pending)
    })
  }

  private sessionFor(peerId: PeerId): OutboundSession {
    const key = peerId.toString()
    let session = this.sessions.get(key)
    if (!session) {
      session = new OutboundSession({
        peerId,
        libp2p: this.components.node.libp2p,
        window: this.init.window,
        maxFrameBytes: this.init.maxFrameBytes,
        dialTimeoutMs: this.init.dialTimeoutMs,
        idleCloseMs: this.init.idleCloseMs,
        logger: this.logger,
        onAck: (p) => this.onAck(p),
        onLateAck: (id) => this.markLate(key, id),
        onNack: (p, code, retryAfterMs) => this.onNack(p, code, retryAfterMs),
        onRetry: () => this.m.retries.inc(),
        onIdle: (s) => this.closeSession(s, new ContractError('unavailable', 'session closed')),
      })
      this.sessions.set(key, session)
    }
    return session
  }

  private closeSession(session: OutboundSession, err: ContractError): void {
    if (this.sessions.get(session.peerId) === session) this.sessions.delete(session.peerId)
    for (const p of session.close()) this.fail(p, err)
  }

  private onAck(pending: PendingSend): void {
    const waiter = this.waiters.get(pending)
    if (!waiter || pending.settled) return
    pending.settled = true
    this.waiters.delete(pending)
    waiter.cancelDeadline()
    const deliveredAt = Date.now()
    const commit = this.commit
    const finish = (): void => {
      this.m.sent.inc()
      this.m.sendWait.observe((performance.now() - pending.queuedAt) / 1000)
      waiter.resolve({ id: pending.id })
    }
    if (!commit) {
      finish()
      return
    }
    commit.enqueue(
      () =>
        waiter.seq > 0
          ? this.repository.setOutboundStatusBySeq(waiter.seq, 'delivered', deliveredAt)
          : this.repository.setOutboundStatus(waiter.peerId, pending.id, 'delivered', deliveredAt),
      (err, changed) => {
        if (err) this.m.storeFailures.inc()
        else if (changed) this.emitOutbound(waiter, 'delivered', deliveredAt)
        // The peer has it either way; our own bookkeeping failing does not undo delivery.
        finish()
      },
    )
  }

  /** An ack after the deadline: the peer did store it, so the record says so. */
  private markLate(peerId: string, id: string): void {
    this.commit?.enqueue(
      () => this.repository.setOutboundStatus(peerId, id, 'delivered', Date.now()),
      (err, changed) => {
        if (!err && changed) this.emitStored(peerId, id)
      },
    )
  }

  private onNack(pending: PendingSend, code: NackCode, retryAfterMs: number | undefined): void {
    this.m.refusals.inc({ code })
    switch (code) {
      case 'rate_limited': {
        // Not a failure: the message goes back in its place and everything waits the time
        // the peer asked for, then leaves again at its pace. The caller just waits longer.
        this.waiters.get(pending)?.session.throttle(pending, retryAfterMs ?? 1000)
        return
      }
      case 'too_large':
        this.fail(pending, new ContractError('payload_too_large', 'the peer refused the message as too large'))
        return
      case 'invalid':
        this.fail(pending, new ContractError('rejected', 'the peer refused the message as invalid'))
        return
      case 'unavailable': {
        // The peer could not store it right now: send it again until the deadline.
        const waiter = this.waiters.get(pending)
        if (!waiter || pending.settled) return
        const handle = setTimeout(() => {
          if (pending.settled || !this.running) return
          waiter.session.resend(pending)
        }, 250)
        handle.unref?.()
        return
      }
    }
  }

  private onDeadline(pending: PendingSend): void {
    const waiter = this.waiters.get(pending)
    if (!waiter || pending.settled) return
    waiter.session.forget(pending)
    const dialError = waiter.session.lastDialError
    const err = dialError
      ? new ContractError('unavailable', `peer unreachable within ${this.init.deadlineMs} ms: ${dialError.message.slice(0, 200)}`, { peerId: waiter.peerId })
      : new ContractError('timeout', `message not acknowledged within ${this.init.deadlineMs} ms`, { peerId: waiter.peerId })
    this.fail(pending, err)
  }

  private fail(pending: PendingSend, err: ContractError): void {
    const waiter = this.waiters.get(pending)
    pending.settled = true
    if (!waiter) return
    this.waiters.delete(pending)
    waiter.cancelDeadline()
    this.m.sendFailures.inc({ code: err.code })
    const reject = (): void => waiter.reject(err)
    const commit = this.commit
    if (!commit) {
      reject()
      return
    }
    commit.enqueue(
      () => (waiter.seq > 0 ? this.repository.setOutboundStatusBySeq(waiter.seq, 'failed', null) : this.repository.setOutboundStatus(waiter.peerId, pending.id, 'failed', null)),
      (dbErr, changed) => {
        if (!dbErr && changed) this.emitOutbound(waiter, 'failed', null)
        reject()
      },
    )
  }

  private emitOutbound(waiter: Waiter, status: 'delivered' | 'failed', at: number | null): void {
    this.components.events.emit('message', {
      id: waiter.pending.id,
      seq: waiter.seq,
      peerId: waiter.peerId,
      direction: 'out',
      text: waiter.text,
      sentAt: new Date(waiter.sentAt).toISOString(),
      receivedAt: at === null ? null : new Date(at).toISOString(),
      status,
    })
  }

  private emitStored(peerId: string, id: string): void {
    try {
      const message = this.repository.get(peerId, 'out', id)
      if (message) this.components.events.emit('message', message)
    } catch {
      // The store closed meanwhile; the event is only a notification.
    }
  }

  /** Peers whose outbound queue has stayed full for a while: health says so. */
  problems(now = Date.now()): string[] {
    const out: string[] = []
    for (const [peerId, since] of this.fullSince) {
      const session = this.sessions.get(peerId)
      if (!session || session.size < this.init.maxQueuedPerPeer) {
        this.fullSince.delete(peerId)
        continue
      }
      if (now - since >= FULL_QUEUE_REASON_AFTER_MS) out.push(`messages to ${peerId.slice(0, 12)}… are backing up: ${session.size} waiting for ${Math.round(session.oldestWaitMs() / 1000)} s`)
    }
    return out
  }

  listMessages(opts: { peerId?: string; before?: number; limit: number }): Message[] {
    return this.repository.list(opts)
  }

  searchMessages(query: string, limit = 100): Message[] {
    const fts = toFtsQuery(query)
    if (fts === null) throw new ContractError('invalid_params', 'the search query has no words to search for', { path: 'query' })
    return this.repository.search(fts, limit)
  }
}
