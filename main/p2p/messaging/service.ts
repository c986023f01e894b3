import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { LRUCache } from 'lru-cache'
import { ContractError, type Conversation, MESSAGE_TEXT_MAX, type Message, type Unread } from '../../../shared/contract/index.js'
import { type EventBus, Disposables, type Startable } from '../../kit/index.js'
import type { IdempotencyScope } from '../../idempotency/index.js'
import type { Store } from '../../store/index.js'
import type { Logger, Metrics } from '../../telemetry/index.js'
import type { Libp2pNode } from '../libp2p.js'
import type { PeerWatch } from '../peer-watch.js'
import { parsePeerId } from '../peer-id-text.js'
import { DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_WINDOW, EXPIRY_SWEEP_MS, INDEX_CHUNK_ROWS, INDEX_INTERVAL_MS, MESSAGING_PROTOCOL, MAX_COMMIT_BATCH } from './constants.js'
import { type NackCode, encodeFrame } from './frames.js'
import { GroupCommit } from '../../store/index.js'
import { InboundSession, MessageReceiver, type PeerBudget } from './inbound.js'
import { keyedMessageId, newMessageId } from './message-id.js'
import { MessageRepository, toFtsQuery } from './message-repository.js'
import { MessagingMetrics } from './messaging-metrics.js'
import { OutboundSession, type PendingSend } from './outbound-session.js'
import { type MessagingInit, type ResolvedMessagingInit, resolveMessagingInit } from './settings.js'
import { TokenBucket } from './token-bucket.js'

/** What messaging needs of the PeerWatch: to report a peer away, keep it wanted, hear it return. */
type MessagingPeerWatch = Pick<PeerWatch, 'failed' | 'want' | 'release' | 'onReachable'>

export interface MessagingComponents {
  /** Anything that holds the started libp2p node (P2PNode, or `{ libp2p }` in tests). */
  node: { readonly libp2p: Libp2pNode }
  store: Store
  logger: Logger
  metrics: Metrics
  events: EventBus
  /**
   * Tells us when a peer that was away is back (and keeps trying it). Without one, a
   * session whose peer is away is tried again only on the peer's own connection.
   */
  watch?: () => MessagingPeerWatch | null
}

export interface SendResult {
  id: string
  seq: number
  status: 'delivered' | 'pending'
}

/** A peer's queue full for this long (callers refused all the while) is a health reason. */
const FULL_QUEUE_REASON_AFTER_MS = 30_000

/** At most one `unread` event per this window while messages arrive. */
const UNREAD_EVENT_MS = 100

/** The holder of the messaging watch (who wants a peer while messages wait for it). */
const WATCH_HOLDER = 'messages'

/** A caller of sendMessage waiting for its answer. */
interface Caller {
  resolve: (value: SendResult) => void
  reject: (err: Error) => void
  /** It asked to wait (timeoutMs): a peer that is away does not shorten its wait. */
  patient: boolean
  timer: NodeJS.Timeout
}

/** An outbound message until its peer has it (or it is deleted, or expires). */
interface Outgoing {
  pending: PendingSend
  peerId: string
  /** Its row; 0 until the insert has committed. */
  seq: number
  /** Its row is committed: only then may a caller be told `pending` (kept). */
  stored: boolean
  text: string
  sentAt: number
  callers: Caller[]
  /** Callers to answer `pending` as soon as the row is committed. */
  answerWhenStored: boolean
  /** Its `pending` event was emitted (only for a message that waits: one delivered at once has just its `delivered`). */
  announced: boolean
  session: OutboundSession
}

/**
 * Direct messages between peers over `/bsv-p2p/msg/1.0.0`: acknowledged end to end
 * (the receiver acks only after a durable commit), idempotent by message id, rate limited
 * per peer, stored in SQLite with full-text search. Store-and-forward: an outbound message
 * is a row first; while its peer is away it waits (pending, surviving restarts) and leaves
 * when the peer is back, in order, until it expires.
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
  private readonly outgoing = new Map<PendingSend, Outgoing>()
  private readonly bySeq = new Map<number, Outgoing>()
  /** Keyed sends by peer and id: a retry joins the message already on its way. */
  private readonly byId = new Map<string, Outgoing>()
  /** Bytes of the frames of every message on its way (the memory the outbox holds). */
  private pendingBytes = 0
  /** Each peer's messages on their way (the peer is wanted while any wait). */
  private readonly byPeer = new Map<string, Set<Outgoing>>()
  private running = false
  private indexing = false
  /** An `unread` event is due (received messages coalesce into one per UNREAD_EVENT_MS). */
  private unreadTimer: (() => void) | null = null
  /** Send order across all peers (each session keeps its own messages in it). */
  private nextOrder = 0
  /** Peers whose queue is full, since when (a queue that stays full is a health reason). */
  private readonly fullSince = new Map<string, number>()

  constructor(
    private readonly components: MessagingComponents,
    init: MessagingInit = {},
  ) {
    this.init = resolveMessagingInit(init)
    this.logger = components.logger
    this.m = new MessagingMetrics(
      components.metrics,
      () => [...this.sessions.values()].map((s) => ({ peerId: s.peerId, size: s.size, oldestWaitMs: s.oldestWaitMs() })),
      () => this.outgoing.size,
    )
    this.repository = new MessageRepository(components.store)
  }

  get isRunning(): boolean {
    return this.running
  }

  /** Counts for health and diagnostics. */
  stats(): { outboundSessions: number; inboundStreams: number; pendingSends: number } {
    return { outboundSessions: this.sessions.size, inboundStreams: this.inbound.size, pendingSends: this.outgoing.size }
  }

  /** Resolved settings (for health and tests). */
  get settings(): Readonly<ResolvedMessagingInit> {
    return this.init
  }

  async start(): Promise<void> {
    if (this.running) return
    this.disposables = new Disposables()
    const commit = new GroupCommit(this.components.store, { onBatch: (n) => this.m.commitBatch.observe(n), maxBatch: MAX_COMMIT_BATCH, onCallbackError: (err) => this.logger.error('a message write\'s callback failed', { err }) })
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
      onStored: (message) => {
        this.components.events.emit('message', message)
        this.unreadChanged()
      },
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
    const watch = this.components.watch?.() ?? null
    if (watch) this.disposables.add(watch.onReachable((peerId) => this.sessions.get(peerId)?.kick()))
    // The same connection event without a watch (tests, a bare node): a peer that dials us is back.
    else {
      const onConnect = (evt: CustomEvent<PeerId>): void => this.sessions.get(evt.detail.toString())?.kick()
      libp2p.addEventListener('peer:connect', onConnect)
      this.disposables.add(() => libp2p.removeEventListener('peer:connect', onConnect))
    }
    this.disposables.interval(() => this.expire(), Math.min(EXPIRY_SWEEP_MS, Math.max(250, Math.floor(this.init.pendingExpiryMs / 4))))
    this.expire()
    this.resumePending()
  }

  /** After a restart: every message still pending goes back in its peer's queue, in order. */
  private resumePending(): void {
    let rows: ReturnType<MessageRepository['pendingOutbound']>
    try {
      rows = this.repository.pendingOutbound()
    } catch (err) {
      this.logger.error('could not read the pending messages; they stay stored and are sent after the next start', { err })
      return
    }
    for (const row of rows) {
      let peerId: PeerId
      try {
        peerId = parsePeerId(row.peerId)
      } catch {
        continue
      }
      const sentAt = Date.parse(row.sentAt)
      const o = this.track(peerId, row.id, row.text, sentAt, encodeFrame({ t: 'msg', id: row.id, text: row.text, sentAt }))
      o.seq = row.seq
      o.stored = true
      o.announced = true
      this.bySeq.set(o.seq, o)
      o.session.send(o.pending)
    }
    if (rows.length > 0) this.logger.info('pending messages resumed', { messages: rows.length })
  }

  /** Pending messages past their expiry fail (the caller can retry them). */
  private expire(): void {
    if (!this.running) return
    let expired: Message[]
    try {
      expired = this.repository.expirePending(Date.now())
    } catch (err) {
      this.logger.warn('could not expire pending messages; will try again', { err })
      return
    }
    for (const message of expired) {
      const o = this.bySeq.get(message.seq)
      if (o) {
        this.untrack(o)
        o.session.forget(o.pending)
        this.answerAll(o, null, new ContractError('timeout', `the message was not delivered before it expired (messaging.pendingExpiryMs, ${this.init.pendingExpiryMs} ms); it can be retried`, { peerId: o.peerId, seq: o.seq }))
      }
      this.m.expired.inc()
      this.components.events.emit('message', message)
    }
    if (expired.length > 0) this.logger.info('pending messages expired', { messages: expired.length })
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
    this.unreadTimer = null
    for (const session of [...this.sessions.values()]) session.close()
    this.sessions.clear()
    for (const session of [...this.inbound]) session.abort(new Error('messaging stopped'))
    this.inbound.clear()
    // Commit what was received, so its acks (if still deliverable) tell the truth, and what
    // was sent, so its callers can be told it is kept.
    try {
      this.commit?.flush()
    } catch {
      this.commit?.failAll(new Error('messaging stopped'))
    }
    // Every message still on its way stays pending on disk and leaves after the next start.
    const stopped = new ContractError('unavailable', 'messaging stopped before the message was stored')
    for (const o of [...this.outgoing.values()]) {
      this.untrack(o)
      this.answerAll(o, o.stored ? { id: o.pending.id, seq: o.seq, status: 'pending' } : null, stopped)
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

  /**
   * Stores the message, then sends it. Resolves `delivered` once the peer has durably
   * stored it, or `pending` once it is stored here and the peer is away (at once) or has
   * not answered within `timeoutMs` (default deadlineMs); with `timeoutMs` the call waits
   * that long even for a peer that is away. It is sent whenever the peer is back.
   */
  async sendMessage(peerIdText: string, text: string, scope: IdempotencyScope | null = null, timeoutMs?: number): Promise<SendResult> {
    const commit = this.commit
    if (!this.running || !commit) throw new ContractError('unavailable', 'messaging is not running')
    let peerId: PeerId
    try {
      peerId = parsePeerId(peerIdText)
    } catch {
      throw new ContractError('invalid_params', 'peerId is not a valid peer id', { path: 'peerId' })
    }
    const key = peerId.toString()
    if (key === this.components.node.libp2p.peerId.toString()) throw new ContractError('invalid_params', 'cannot send a message to this node itself', { path: 'peerId' })
    if (text.length === 0 || text.length > MESSAGE_TEXT_MAX) throw new ContractError('invalid_params', `text must be 1 to ${MESSAGE_TEXT_MAX} characters`, { path: 'text' })
    const sentAt = Date.now()
    // A keyed send's id follows from its key: its retry is the same message to the peer.
    const id = scope ? keyedMessageId(scope.key, key, text) : newMessageId(sentAt)
    if (scope) {
      const joined = this.byId.get(idKey(key, id))
      if (joined) return this.wait(joined, timeoutMs)
      const prior = this.repository.get(key, 'out', id)
      if (prior?.status === 'delivered') return { id, seq: prior.seq, status: 'delivered' }
    }
    const frame = encodeFrame({ t: 'msg', id, text, sentAt })
    if (frame.byteLength > this.init.maxFrameBytes) {
      throw new ContractError('payload_too_large', `message encodes to ${frame.byteLength} bytes; the limit is ${this.init.maxFrameBytes}`, { path: 'text' })
    }
    const existing = this.sessions.get(key)
    // Messages wait in order and leave at the pace the peer takes them; only a full queue refuses.
    if (existing && existing.size >= this.init.maxQueuedPerPeer) {
      if (!this.fullSince.has(key)) this.fullSince.set(key, Date.now())
      this.m.sendFailures.inc({ code: 'rate_limited' })
      const retryAfterMs = Math.max(1000, existing.throttledFor())
      throw new ContractError('rate_limited', `${existing.size} messages are already waiting for this peer (the most a peer may have waiting); try again later`, { peerId: key, retryAfterMs, queued: existing.size })
    }
    if (this.outgoing.size >= this.init.maxPendingTotal || this.pendingBytes + frame.byteLength > this.init.maxPendingBytes) {
      this.m.sendFailures.inc({ code: 'rate_limited' })
      throw new ContractError(
        'rate_limited',
        `${this.outgoing.size} messages (${this.pendingBytes} bytes) are already waiting for their peers (messaging.maxPendingTotal, maxPendingBytes); try again later`,
        { peerId: key, retryAfterMs: 5000, queued: this.outgoing.size },
      )
    }
    this.fullSince.delete(key)
    const o = this.track(peerId, id, text, sentAt, frame)
    const expiresAt = sentAt + this.init.pendingExpiryMs
    const answer = this.wait(o, timeoutMs)
    // The row is committed in the same turn as the frame leaves, not before it: the commit
    // overlaps the network trip instead of adding an fsync to every message. Its
    // delivered/failed update is queued later, so it always lands after this insert. A
    // caller is told `pending` (kept) only once it is committed; a crash within that turn
    // can lose our record of a message the peer got, never the reverse.
    commit.enqueue(
      () => {
        if (!scope) return this.repository.insertOutbound(key, id, text, sentAt, expiresAt)
        scope.bind({ kind: 'message', peerId: key, id })
        return this.repository.upsertOutbound(key, id, text, sentAt, expiresAt)
      },
      (err, seq) => {
        if (err || !seq) {
          this.m.storeFailures.inc()
          if (err) this.logger.error('could not record an outbound message', { err })
          this.untrack(o)
          o.session.forget(o.pending)
          // Its frame may be on the wire already (it leaves in the same turn): say so, never "not sent".
          this.answerAll(o, null, new ContractError('unavailable', 'the message could not be stored here (the disk refuses writes?), so it is not kept for later; it may still reach the peer if it was already on its way', { peerId: key }))
          return
        }
        o.seq = seq
        o.stored = true
        this.bySeq.set(seq, o)
        if (o.answerWhenStored) this.answerPending(o)
      },
    )
    o.session.send(o.pending)
    return answer
  }

  /** A message enters the outbox (not yet its peer's queue). */
  private track(peerId: PeerId, id: string, text: string, sentAt: number, frame: Uint8Array): Outgoing {
    const session = this.sessionFor(peerId)
    const pending: PendingSend = { id, frame, order: this.nextOrder++, queuedAt: performance.now(), settled: false }
    const o: Outgoing = { pending, peerId: peerId.toString(), seq: 0, stored: false, text, sentAt, callers: [], answerWhenStored: false, announced: false, session }
    this.outgoing.set(pending, o)
    this.pendingBytes += frame.byteLength
    this.byId.set(idKey(o.peerId, id), o)
    let mine = this.byPeer.get(o.peerId)
    if (!mine) this.byPeer.set(o.peerId, (mine = new Set()))
    mine.add(o)
    return o
  }

  private untrack(o: Outgoing): void {
    o.pending.settled = true
    if (this.outgoing.delete(o.pending)) this.pendingBytes -= o.pending.frame.byteLength
    if (this.bySeq.get(o.seq) === o) this.bySeq.delete(o.seq)
    const k = idKey(o.peerId, o.pending.id)
    if (this.byId.get(k) === o) this.byId.delete(k)
    const mine = this.byPeer.get(o.peerId)
    if (mine?.delete(o) && mine.size === 0) {
      this.byPeer.delete(o.peerId)
      this.components.watch?.()?.release(o.peerId, WATCH_HOLDER)
    }
  }

  /** A caller's answer: delivered, or pending once stored (at once while the peer is away, else at its timeout). */
  private wait(o: Outgoing, timeoutMs: number | undefined): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const caller: Caller = {
        resolve,
        reject,
        patient: timeoutMs !== undefined,
        timer: setTimeout(() => {
          caller.patient = false
          this.keepFor(o)
        }, timeoutMs ?? this.init.deadlineMs),
      }
      caller.timer.unref?.()
      o.callers.push(caller)
      if (o.session.away && !caller.patient) this.keepFor(o)
    })
  }

  /** Tell the impatient callers of `o` it is kept (now, or when its row commits). */
  private keepFor(o: Outgoing): void {
    if (o.stored) this.answerPending(o)
    else o.answerWhenStored = true
  }

  /** The message waits (stored, its peer away or slow): its callers hear `pending`, and so do listeners, once. */
  private answerPending(o: Outgoing): void {
    if (!o.announced && !o.pending.settled) {
      o.announced = true
      this.components.events.emit('message', this.toMessage(o, 'pending', null))
    }
    const keep: Caller[] = []
    for (const c of o.callers) {
      if (c.patient) {
        keep.push(c)
        continue
      }
      clearTimeout(c.timer)
      c.resolve({ id: o.pending.id, seq: o.seq, status: 'pending' })
    }
    o.callers = keep
  }

  private answerAll(o: Outgoing, result: SendResult | null, err: Error): void {
    for (const c of o.callers) {
      clearTimeout(c.timer)
      if (result) c.resolve(result)
      else c.reject(err)
    }
    o.callers = []
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
        onIdle: (s) => this.closeSession(s),
        onAway: (s, err) => this.onAway(s, err),
      })
      this.sessions.set(key, session)
    }
    return session
  }

  /** The peer cannot be reached: its messages wait (their callers are told so) until it is back. */
  private onAway(session: OutboundSession, err: Error): void {
    const watch = this.components.watch?.() ?? null
    watch?.failed(session.peerId, err)
    watch?.want(session.peerId, WATCH_HOLDER)
    this.m.peersAway.inc()
    for (const o of this.byPeer.get(session.peerId) ?? []) this.keepFor(o)
  }

  private closeSession(session: OutboundSession): void {
    if (this.sessions.get(session.peerId) === session) this.sessions.delete(session.peerId)
    // Idle: nothing is left in it (a message still waiting keeps its session open).
    session.close()
  }

  private onAck(pending: PendingSend): void {
    const o = this.outgoing.get(pending)
    if (!o || pending.settled) return
    this.untrack(o)
    const deliveredAt = Date.now()
    const commit = this.commit
    const finish = (): void => {
      this.m.sent.inc()
      this.m.sendWait.observe((performance.now() - pending.queuedAt) / 1000)
      this.answerAll(o, { id: pending.id, seq: o.seq, status: 'delivered' }, new Error('unreachable'))
    }
    if (!commit) {
      finish()
      return
    }
    commit.enqueue(
      () => (o.seq > 0 ? this.repository.setOutboundStatusBySeq(o.seq, 'delivered', deliveredAt) : this.repository.setOutboundStatus(o.peerId, pending.id, 'delivered', deliveredAt)),
      (err, changed) => {
        if (err) this.m.storeFailures.inc()
        else if (changed) this.components.events.emit('message', this.toMessage(o, 'delivered', deliveredAt))
        // The peer has it either way; our own bookkeeping failing does not undo delivery.
        finish()
      },
    )
  }

  /** An ack for a message no longer waited for (deleted or expired meanwhile): the peer did store it, so the record says so. */
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
    const o = this.outgoing.get(pending)
    switch (code) {
      case 'rate_limited': {
        // Not a failure: the message goes back in its place and everything waits the time
        // the peer asked for, then leaves again at its pace. The caller just waits longer.
        o?.session.throttle(pending, retryAfterMs ?? 1000)
        return
      }
      case 'too_large':
        this.fail(pending, new ContractError('payload_too_large', 'the peer refused the message as too large'))
        return
      case 'invalid':
        this.fail(pending, new ContractError('rejected', 'the peer refused the message as invalid'))
        return
      case 'unavailable': {
        // The peer could not store it right now: send it again shortly, until it can.
        if (!o || pending.settled) return
        const handle = setTimeout(() => {
          if (pending.settled || !this.running) return
          o.session.resend(pending)
        }, 250)
        handle.unref?.()
        return
      }
    }
  }

  /** The peer refused the message for good: it is failed (the user may retry it). */
  private fail(pending: PendingSend, err: ContractError): void {
    const o = this.outgoing.get(pending)
    pending.settled = true
    if (!o) return
    this.untrack(o)
    this.m.sendFailures.inc({ code: err.code })
    const reject = (): void => this.answerAll(o, null, err)
    const commit = this.commit
    if (!commit) {
      reject()
      return
    }
    commit.enqueue(
      () => (o.seq > 0 ? this.repository.setOutboundStatusBySeq(o.seq, 'failed', null) : this.repository.setOutboundStatus(o.peerId, pending.id, 'failed', null)),
      (dbErr, changed) => {
        if (!dbErr && changed) this.components.events.emit('message', this.toMessage(o, 'failed', null))
        reject()
      },
    )
  }

  /** A failed message is sent again (pending, with a new expiry); any other is answered as it is. */
  retryMessage(seq: number): Message {
    if (!this.running) throw new ContractError('unavailable', 'messaging is not running')
    const row = this.repository.bySeq(seq)
    if (!row) throw new ContractError('not_found', `no message ${seq}`, { seq })
    if (row.direction !== 'out') throw new ContractError('invalid_state', 'only a message sent from here can be retried', { seq })
    if (row.status !== 'failed') return stripExpiry(row)
    const peerId = parsePeerId(row.peerId)
    if (this.outgoing.size >= this.init.maxPendingTotal || this.pendingBytes >= this.init.maxPendingBytes || (this.sessions.get(row.peerId)?.size ?? 0) >= this.init.maxQueuedPerPeer) {
      throw new ContractError('rate_limited', 'too many messages are already waiting; try again later', { retryAfterMs: 5000 })
    }
    if (!this.repository.requeueFailed(seq, Date.now() + this.init.pendingExpiryMs)) return stripExpiry(this.repository.bySeq(seq) ?? row)
    const sentAt = Date.parse(row.sentAt)
    const o = this.track(peerId, row.id, row.text, sentAt, encodeFrame({ t: 'msg', id: row.id, text: row.text, sentAt }))
    o.seq = seq
    o.stored = true
    o.announced = true
    this.bySeq.set(seq, o)
    o.session.kick()
    o.session.send(o.pending)
    const message = { ...stripExpiry(row), status: 'pending' as const }
    this.components.events.emit('message', message)
    return message
  }

  /** An outbound message pending or failed is deleted: it is not sent any more. */
  deleteMessage(seq: number): { seq: number; peerId: string; id: string } {
    if (!this.running) throw new ContractError('unavailable', 'messaging is not running')
    // What was queued before this call is on disk first, so the row to delete is there.
    this.commit?.flush()
    const row = this.repository.bySeq(seq)
    if (!row) throw new ContractError('not_found', `no message ${seq}`, { seq })
    if (row.direction !== 'out' || (row.status !== 'pending' && row.status !== 'failed')) {
      throw new ContractError('invalid_state', `only an outbound message that is pending or failed can be deleted; this one is ${row.status}`, { seq, status: row.status })
    }
    if (!this.repository.deleteOutbound(seq)) throw new ContractError('invalid_state', 'the message was delivered meanwhile', { seq })
    const o = this.bySeq.get(seq)
    if (o) {
      this.untrack(o)
      o.session.forget(o.pending)
      this.answerAll(o, null, new ContractError('conflict', 'the message was deleted before it was delivered', { seq }))
    }
    const deleted = { seq, peerId: row.peerId, id: row.id }
    this.components.events.emit('messageDeleted', deleted)
    return deleted
  }

  private toMessage(o: Outgoing, status: 'pending' | 'delivered' | 'failed', at: number | null): Message {
    return {
      id: o.pending.id,
      seq: o.seq,
      peerId: o.peerId,
      direction: 'out',
      text: o.text,
      sentAt: new Date(o.sentAt).toISOString(),
      receivedAt: at === null ? null : new Date(at).toISOString(),
      status,
    }
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

  /** Received messages change the unread counts: one event per window however many arrive. */
  private unreadChanged(): void {
    if (this.unreadTimer || !this.running) return
    this.unreadTimer = this.disposables.timeout(() => {
      this.unreadTimer = null
      this.emitUnread()
    }, UNREAD_EVENT_MS)
  }

  private emitUnread(): Unread | null {
    try {
      const unread = this.repository.unread()
      this.components.events.emit('unread', unread)
      return unread
    } catch (err) {
      this.logger.warn('could not count unread messages', { err })
      return null
    }
  }

  listConversations(limit: number): Conversation[] {
    return this.repository.conversations(limit)
  }

  getUnread(): Unread {
    return this.repository.unread()
  }

  /** Idempotent: a marker already there (or past it) changes nothing and emits nothing. */
  markConversationRead(peerId: string, upToSeq: number): Unread {
    // Messages received but not yet committed are counted once they are.
    this.commit?.flush()
    if (!this.repository.markRead(peerId, upToSeq)) return this.repository.unread()
    return this.emitUnread() ?? this.repository.unread()
  }

  listMessages(opts: { peerId?: string; before?: number; limit: number }): Message[] {
    return this.repository.list(opts)
  }

  /**
   * The index catches up first, in the background indexer's chunks and yielding between
   * them: after a large backlog (a database from before the index, a long flood) one call
   * would hold the engine's thread, and every payment, for all of it.
   */
  async searchMessages(query: string, limit = 100): Promise<Message[]> {
    const fts = toFtsQuery(query)
    if (fts === null) throw new ContractError('invalid_params', 'the search query has no words to search for', { path: 'query' })
    while (this.running && this.repository.indexPending(INDEX_CHUNK_ROWS) > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    return this.repository.search(fts, limit)
  }
}

function idKey(peerId: string, id: string): string {
  return `${peerId}\n${id}`
}

function stripExpiry(row: Message & { expiresAt: number | null }): Message {
  const { expiresAt: _expiresAt, ...message } = row
  return message
}
