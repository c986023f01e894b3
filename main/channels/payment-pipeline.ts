import { ContractError } from '../../shared/contract/index.js'
import { nextDelay } from '../kit/index.js'
import type { Logger } from '../telemetry/index.js'
import { ChannelPeerError, MAX_PAYMENTS_PER_FRAME } from './protocol.js'

/** One payment as a coalesced settlement lists it (protocol.ts, `pay.payments`). */
interface PaymentEntry {
  sats: number
  memo?: string
}

/** A signed settlement on its way: it covers the payments up to `seq`, paying `paidSats` in all. */
export interface OutgoingSettlement {
  seq: number
  paidSats: number
  sig: string
  /** One payment: its memo, as the frame has carried it since protocol 2.0.0. */
  memo?: string
  /** Several payments (seq - length + 1 .. seq), in order; absent for one. */
  payments?: PaymentEntry[]
}

/** A payment reserved by `pay` (its seq and cumulative amount fixed), not signed yet. */
export interface NewPayment {
  seq: number
  paidSats: number
  sats: number
  memo?: string
  /** When `pay` was called (ms since the epoch): the payment's own time on both sides. */
  createdAt: number
  /** Runs inside the transaction that stores the payment (an idempotency key's effect). */
  bind?: () => void
}

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: Error) => void
  settled: boolean
  timer: NodeJS.Timeout | null
  /** Already waiting in `answerAfterSeal`. */
  answering: boolean
}

export interface PipelineDeps {
  window: number
  payTimeoutMs: number
  logger: Logger
  /**
   * Sign one settlement for the last payment of `batch` and store every payment of it (one
   * transaction, on disk before this resolves): the signed state may leave only then.
   */
  seal(batch: readonly NewPayment[]): Promise<OutgoingSettlement>
  /** Payments reserved after the last sealed one were dropped unsigned: the next is built on `tip` (null: on what the disk holds). */
  rewind(tip: { seq: number; paidSats: number } | null): void
  /**
   * A turn at signing among the node's channels (SignatureScheduler.turn): `seal` is called
   * inside it, with every payment reserved by then. Absent: at once.
   */
  turn?(work: () => void): void
  /** Resolves when the payee acknowledged exactly this state. */
  send(p: OutgoingSettlement): Promise<void>
  /** The payee's latest stored state, as it says. */
  sync(): Promise<{ seq: number; paidSats: number }>
  /** Is this a state we signed (or the opening state)? A payee that claims another is lying. */
  signedByUs(state: { seq: number; paidSats: number }): boolean
  /** The payee cannot be reached now (no connection): callers are told at once instead of at their timeout. */
  away(): boolean
  /** The payee stored every state up to `seq`: noted in memory now, on disk with a later commit. */
  acked(seq: number, paidSats: number): void
  /**
   * The payee refused a state for a reason other than a lost link, or lied: the channel's
   * payments stop (every waiting caller hears `err`), its signed states stay on record.
   */
  halted(err: Error): void
}

/** What the listed payments may take of a frame (16 KiB), leaving room for the rest of it. */
const PAYMENT_LIST_BUDGET_BYTES = 12 * 1024

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

/**
 * The payer's payments on one channel. Up to `window` signed settlements are in flight at
 * once: safe because each is a complete settlement on its own and every later one pays the
 * payee more, so the payee keeps the highest it verified and losing an earlier one costs
 * nobody anything. The payee accepts them only in sequence, so its acks come in order and
 * an ack for `seq` confirms every payment up to it.
 *
 * Coalescing: one settlement is signed at a time, and only when it could leave now. Payments
 * that arrive meanwhile (behind a signature being stored, or behind a full window) wait
 * unsigned, and the next settlement covers all of them at once (one signature, one stored
 * transaction, one verification by the payee), listing each payment so both sides keep a
 * row per payment. A caller that must be answered before its acknowledgement (timeout,
 * payee away) has its payment signed and stored first, so "it stays signed and is sent
 * again" is true and a retry with the same key finds it.
 *
 * A lost link puts the unacknowledged settlements back in the queue; the link is reconciled
 * (the payee says what it holds) before they are resent, and the payee answers a repeated
 * identical settlement with the same ack.
 */
export class PaymentPipeline {
  /** Reserved, not signed yet, in seq order. */
  private unsigned: NewPayment[] = []
  /** Callers, in seq order; an ack answers a prefix. */
  private waiters: Waiter[] = []
  /** Callers answered once their payment is signed (seq above `sealedSeq` when they had to be answered). */
  private answerAfterSeal: { w: Waiter; err: Error }[] = []
  private queue: OutgoingSettlement[] = []
  private readonly inflight = new Map<number, OutgoingSettlement>()
  private ackedSeq: number
  /** The last payment signed and stored (`sealing`: the last of the batch being stored). */
  private sealedSeq: number
  private sealing: { seq: number; paidSats: number } | null = null
  /** A turn at signing is asked for; the batch is taken when it comes. */
  private turnAsked = false
  private lastSealed: { seq: number; paidSats: number } | null = null
  private reconciling = false
  /** Consecutive failed reconciles: the backoff's exponent. */
  private retryAttempt = 0
  private stopped = false
  private retryTimer: NodeJS.Timeout | null = null
  private idleWaiters: (() => void)[] = []
  private ackWaiters: { seq: number; settle: (err?: Error) => void }[] = []
  private haltedWith: Error | null = null

  constructor(
    private readonly deps: PipelineDeps,
    ackedSeq: number,
  ) {
    this.ackedSeq = ackedSeq
    this.sealedSeq = ackedSeq
  }

  get pending(): number {
    return this.unsigned.length + (this.sealing ? 1 : 0) + this.queue.length + this.inflight.size
  }

  /** A settlement is on the wire and the link has not failed: the payee answers on it now. */
  get linkInUse(): boolean {
    return this.inflight.size > 0 && !this.reconciling && !this.retryTimer && !this.stopped && !this.haltedWith
  }

  /** Why payments on this channel stopped, if they did. */
  get halted(): Error | null {
    return this.haltedWith
  }

  /**
   * A reserved payment; resolves when the payee acknowledged a settlement covering it. The
   * caller is answered `timeout` after `timeoutMs`, or `unavailable` as soon as the payee is
   * found away; either way the payment is signed and stored first, stays queued and is
   * resent when the payee is back.
   */
  pay(p: NewPayment, timeoutMs = this.deps.payTimeoutMs): Promise<void> {
    if (this.haltedWith) return Promise.reject(this.haltedWith)
    if (this.stopped) return Promise.reject(new ContractError('unavailable', 'the channel engine stopped'))
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { seq: p.seq, resolve, reject, settled: false, timer: null, answering: false }
      w.timer = setTimeout(() => {
        w.timer = null
        this.answerWhenSealed(w, new ContractError('timeout', `payment ${p.seq} not acknowledged within ${timeoutMs} ms; it stays signed and is resent when the payee is back`, { seq: p.seq, pending: true }))
      }, timeoutMs)
      this.waiters.push(w)
      this.unsigned.push(p)
      this.pump()
    })
  }

  /** A settlement signed and stored earlier (a restart), sent again with nobody waiting on it. */
  resend(s: OutgoingSettlement): void {
    if (this.haltedWith || this.stopped || s.seq <= this.ackedSeq) return
    this.sealedSeq = Math.max(this.sealedSeq, s.seq)
    this.enqueue(s)
    this.pump()
  }

  /** Keeps the queue in seq order; settlements almost always arrive in order, so this appends. */
  private enqueue(s: OutgoingSettlement): void {
    const q = this.queue
    if (q.length === 0 || q[q.length - 1]!.seq < s.seq) {
      q.push(s)
      return
    }
    const at = q.findIndex((e) => e.seq > s.seq)
    if (at === -1) q.push(s)
    else q.splice(at, 0, s)
  }

  /** Resend whatever is unacknowledged after asking the payee what it holds (reconnect, restart). */
  reconcile(): void {
    if (this.reconciling || this.stopped || this.haltedWith) return
    this.reconciling = true
    for (const e of this.inflight.values()) this.queue.push(e)
    this.inflight.clear()
    this.queue.sort((a, b) => a.seq - b.seq)
    this.deps.sync().then(
      (remote) => {
        if (this.stopped || this.haltedWith) return
        if (!this.deps.signedByUs(remote)) {
          // Never book a state we did not sign: a payee that claims one is lying.
          this.reconciling = false
          this.halt(new ContractError('rejected', `the payee claims state ${remote.seq} (${remote.paidSats} sat), which this wallet never signed; payments on this channel are stopped`))
          return
        }
        if (remote.seq > this.ackedSeq) this.ack(remote.seq, remote.paidSats)
        this.queue = this.queue.filter((e) => e.seq > remote.seq)
        this.reconciling = false
        this.retryAttempt = 0
        this.pump()
      },
      (err: unknown) => {
        this.reconciling = false
        this.retryLater(err)
      },
    )
  }

  /** The peer is reachable again: reconcile now instead of waiting out the backoff. */
  kick(): void {
    if (this.stopped || !this.retryTimer) return
    clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.retryAttempt = 0
    this.reconcile()
  }

  /** Resolves when nothing is queued or in flight (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.idleWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  /**
   * Resolves once the payee acknowledged payment `seq` (or a later one); rejects when payments
   * stop, or with `timeout` after `timeoutMs` (the payment stays signed and is resent).
   */
  ackedThrough(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.ackedSeq) return Promise.resolve()
    if (this.haltedWith) return Promise.reject(this.haltedWith)
    if (this.stopped) return Promise.reject(new ContractError('unavailable', 'the channel engine stopped'))
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        seq,
        settle: (err?: Error): void => {
          clearTimeout(timer)
          this.ackWaiters = this.ackWaiters.filter((w) => w !== waiter)
          if (err) reject(err)
          else resolve()
        },
      }
      const timer = setTimeout(() => waiter.settle(new ContractError('timeout', `payment ${seq} not acknowledged within ${timeoutMs} ms; it stays signed and is resent when the payee is back`, { seq, pending: true })), timeoutMs)
      this.ackWaiters.push(waiter)
    })
  }

  private settleAckWaiters(err?: Error): void {
    for (const w of [...this.ackWaiters]) if (err || w.seq <= this.ackedSeq) w.settle(err)
  }

  /**
   * Stops payments on this channel: every caller not covered by an acknowledged settlement
   * hears `err`, and so does every later one. Signed states are not voided (the payee may
   * hold them); closing the channel settles whichever one the payee broadcasts. Payments
   * not signed yet are dropped.
   */
  halt(err: Error): void {
    if (this.haltedWith || this.stopped) return
    this.haltedWith = err
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.endAll(err)
    this.deps.halted(err)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.endAll(new ContractError('unavailable', 'the channel engine stopped'))
  }

  private endAll(err: Error): void {
    this.dropUnsigned()
    for (const w of this.waiters) this.settle(w, err)
    this.waiters = []
    for (const { w } of this.answerAfterSeal) this.settle(w, err)
    this.answerAfterSeal = []
    this.queue = []
    this.inflight.clear()
    this.settleAckWaiters(err)
    this.checkIdle()
  }

  /** Forget the payments not signed yet (their callers are answered by the caller of this). */
  private dropUnsigned(): void {
    if (this.unsigned.length === 0) return
    this.unsigned = []
    this.deps.rewind(this.sealing ?? this.lastSealed)
  }

  private pump(): void {
    if (!this.reconciling && !this.stopped && !this.retryTimer && !this.haltedWith) {
      while (this.queue.length > 0 && this.inflight.size < this.deps.window) {
        const e = this.queue.shift()!
        if (e.seq <= this.ackedSeq) continue
        this.inflight.set(e.seq, e)
        this.deps.send(e).then(
          () => {
            if (this.inflight.get(e.seq) !== e) return
            this.ack(e.seq, e.paidSats)
          },
          (err: unknown) => {
            if (this.inflight.get(e.seq) !== e) return
            if (err instanceof ChannelPeerError && err.retryable) {
              this.retryLater(err)
              return
            }
            this.halt(err instanceof Error ? err : new Error(String(err)))
          },
        )
      }
    }
    this.sealNext()
    this.checkIdle()
  }

  /**
   * Signs the next settlement when it could leave at once (nothing signed waits for a slot),
   * or when a caller must be answered before its acknowledgement. One at a time: payments
   * arriving meanwhile gather into the next. The batch is taken in the channel's turn at
   * signing, so payments that arrive while other channels sign join it.
   */
  private sealNext(): void {
    if (this.turnAsked || !this.wantsSeal()) return
    this.turnAsked = true
    const sealInTurn = (): void => {
      this.turnAsked = false
      if (this.wantsSeal()) this.sealBatch()
    }
    if (this.deps.turn) this.deps.turn(sealInTurn)
    else sealInTurn()
  }

  private wantsSeal(): boolean {
    if (this.sealing || this.unsigned.length === 0 || this.stopped || this.haltedWith) return false
    const linkUp = !this.reconciling && !this.retryTimer
    const canLeave = linkUp && this.queue.length === 0 && this.inflight.size < this.deps.window
    return canLeave || this.answerAfterSeal.length > 0
  }

  private sealBatch(): void {
    const batch = this.takeBatch()
    const last = batch[batch.length - 1]!
    this.sealing = { seq: last.seq, paidSats: last.paidSats }
    this.deps.seal(batch).then(
      (s) => {
        this.sealing = null
        if (this.stopped || this.haltedWith) return
        this.lastSealed = { seq: last.seq, paidSats: last.paidSats }
        this.sealedSeq = Math.max(this.sealedSeq, last.seq)
        this.answerSealed()
        this.enqueue(s)
        this.pump()
      },
      (err: unknown) => {
        this.sealing = null
        // Nothing of this batch was stored or sent, and every later payment was built on it:
        // they all fail, and the next payment is built on what the disk holds.
        const e = err instanceof Error ? err : new Error(String(err))
        this.unsigned = []
        this.deps.rewind(null)
        const first = batch[0]!.seq
        this.waiters = this.waiters.filter((w) => {
          if (w.seq < first) return true
          this.settle(w, e)
          return false
        })
        for (const { w } of this.answerAfterSeal) this.settle(w, e)
        this.answerAfterSeal = []
        this.pump()
      },
    )
  }

  /** The longest prefix of the unsigned payments one settlement may list. */
  private takeBatch(): NewPayment[] {
    let bytes = 0
    let n = 0
    while (n < this.unsigned.length && n < MAX_PAYMENTS_PER_FRAME) {
      const p = this.unsigned[n]!
      // `{"sats":N,"memo":"…"},` as JSON writes it.
      const size = 11 + String(p.sats).length + (p.memo === undefined ? 0 : 8 + Buffer.byteLength(JSON.stringify(p.memo)))
      if (n > 0 && bytes + size > PAYMENT_LIST_BUDGET_BYTES) break
      bytes += size
      n++
    }
    return this.unsigned.splice(0, n)
  }

  /** Answer `w` with `err` now if its payment is signed and stored, else once it is. */
  private answerWhenSealed(w: Waiter, err: Error): void {
    if (w.settled || w.answering) return
    if (w.seq <= this.sealedSeq) {
      this.settle(w, err)
      return
    }
    w.answering = true
    this.answerAfterSeal.push({ w, err })
    this.sealNext()
  }

  private answerSealed(): void {
    if (this.answerAfterSeal.length === 0) return
    this.answerAfterSeal = this.answerAfterSeal.filter(({ w, err }) => {
      if (w.seq > this.sealedSeq) return true
      this.settle(w, err)
      return false
    })
  }

  private ack(seq: number, paidSats: number): void {
    if (seq <= this.ackedSeq) return
    this.ackedSeq = seq
    this.sealedSeq = Math.max(this.sealedSeq, seq)
    // Acknowledged: those callers hear success below, not the error they were to be told.
    if (this.answerAfterSeal.length > 0) this.answerAfterSeal = this.answerAfterSeal.filter(({ w }) => w.seq > seq)
    for (const s of [...this.inflight.keys()]) if (s <= seq) this.inflight.delete(s)
    // Both lists are in seq order: what the ack covers is a prefix (no whole-list pass per
    // ack, which made a deep pipeline quadratic).
    let covered = 0
    while (covered < this.queue.length && this.queue[covered]!.seq <= seq) covered++
    if (covered > 0) this.queue.splice(0, covered)
    let answered = 0
    while (answered < this.waiters.length && this.waiters[answered]!.seq <= seq) answered++
    const done = this.waiters.splice(0, answered)
    // The ack is recorded in the background: losing it in a crash costs nothing, since the
    // payee holds the state and the next reconcile learns it again.
    this.deps.acked(seq, paidSats)
    for (const w of done) this.settle(w)
    if (this.ackWaiters.length > 0) this.settleAckWaiters()
    this.pump()
  }

  private settle(w: Waiter, err?: Error): void {
    if (w.timer) clearTimeout(w.timer)
    w.timer = null
    if (w.settled) return
    w.settled = true
    if (err) w.reject(err)
    else w.resolve()
  }

  private retryLater(err: unknown): void {
    if (this.stopped || this.haltedWith) return
    for (const e of this.inflight.values()) this.queue.push(e)
    this.inflight.clear()
    this.queue.sort((a, b) => a.seq - b.seq)
    if (this.deps.away()) this.answerAway()
    if (this.retryTimer) return
    this.deps.logger.debug('channel link lost; reconciling', { err, pending: this.queue.length })
    const delay = nextDelay(this.retryAttempt++, { baseDelayMs: RETRY_MIN_MS, maxDelayMs: RETRY_MAX_MS })
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.reconcile()
    }, delay)
  }

  /**
   * The payee went away with payments not acknowledged: their callers hear it now, not at
   * their timeout. The payments are signed and stored (those not yet, first), stay queued
   * (the payee may already hold them) and go out again when it is back; a keyed retry
   * follows them.
   */
  private answerAway(): void {
    for (const w of this.waiters) {
      if (w.settled) continue
      this.answerWhenSealed(w, new ContractError('unavailable', `the payee went away before acknowledging payment ${w.seq}; it stays signed and is sent again when the payee is back`, { seq: w.seq, pending: true }))
    }
    for (const w of [...this.ackWaiters]) {
      w.settle(new ContractError('unavailable', `the payee went away before acknowledging payment ${w.seq}; it stays signed and is sent again when the payee is back`, { seq: w.seq, pending: true }))
    }
  }

  private checkIdle(): void {
    if (this.pending !== 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
