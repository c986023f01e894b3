import { ContractError } from '../../shared/contract/index.js'
import type { Logger } from '../telemetry/index.js'
import { ChannelPeerError } from './protocol.js'

export interface OutgoingPayment {
  seq: number
  paidSats: number
  sig: string
  memo?: string
}

interface Entry extends OutgoingPayment {
  resolve: () => void
  reject: (err: Error) => void
  settled: boolean
  timer: NodeJS.Timeout | null
}

export interface PipelineDeps {
  window: number
  payTimeoutMs: number
  logger: Logger
  /** Resolves when the payee acknowledged exactly this state. */
  send(p: OutgoingPayment): Promise<void>
  /** The payee's latest stored state, as it says. */
  sync(): Promise<{ seq: number; paidSats: number }>
  /** Is this a state we signed (or the opening state)? A payee that claims another is lying. */
  signedByUs(state: { seq: number; paidSats: number }): boolean
  /** The payee cannot be reached now (no connection): callers are told at once instead of at their timeout. */
  away(): boolean
  /** Persist that the payee stored every state up to `seq` (group-committed). */
  acked(seq: number, paidSats: number): Promise<void>
  /**
   * The payee refused a state for a reason other than a lost link, or lied: the channel's
   * payments stop (every waiting caller hears `err`), its signed states stay on record.
   */
  halted(err: Error): void
}

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

/**
 * The payer's updates to one channel. Up to `window` signed states are in flight at once:
 * safe because each is a complete settlement on its own and every later one pays the payee
 * more, so the payee keeps the highest it verified and losing any earlier one costs
 * nobody anything. The payee accepts them only in sequence, so its acks come in order and
 * an ack for `seq` confirms every state before it. A lost link puts the unacknowledged
 * states back in the queue; the link is reconciled (the payee says what it holds) before
 * they are resent, and the payee answers a repeated identical state with the same ack.
 */
export class PaymentPipeline {
  private queue: Entry[] = []
  private readonly inflight = new Map<number, Entry>()
  private ackedSeq: number
  private reconciling = false
  private retryMs = RETRY_MIN_MS
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
  }

  get pending(): number {
    return this.queue.length + this.inflight.size
  }

  /** Why payments on this channel stopped, if they did. */
  get halted(): Error | null {
    return this.haltedWith
  }

  /**
   * Queue a signed, persisted state; resolves when the payee acknowledged it. A tracked
   * caller is answered `timeout` after `timeoutMs`, or `unavailable` as soon as the payee
   * is found away; either way the state stays queued and is resent when the payee is back.
   */
  push(p: OutgoingPayment, track = true, timeoutMs = this.deps.payTimeoutMs): Promise<void> {
    if (this.haltedWith) return Promise.reject(this.haltedWith)
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { ...p, resolve, reject, settled: false, timer: null }
      if (track) {
        entry.timer = setTimeout(() => {
          this.settle(entry, new ContractError('timeout', `payment ${p.seq} not acknowledged within ${timeoutMs} ms; it stays signed and is resent when the payee is back`, { seq: p.seq, pending: true }))
        }, timeoutMs)
      }
      this.enqueue(entry)
      this.pump()
    })
  }

  /** Keeps the queue in seq order; states almost always arrive in order, so this appends. */
  private enqueue(entry: Entry): void {
    const q = this.queue
    if (q.length === 0 || q[q.length - 1]!.seq < entry.seq) {
      q.push(entry)
      return
    }
    const at = q.findIndex((e) => e.seq > entry.seq)
    if (at === -1) q.push(entry)
    else q.splice(at, 0, entry)
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
        this.retryMs = RETRY_MIN_MS
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
    this.retryMs = RETRY_MIN_MS
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
   * Resolves once the payee acknowledged state `seq` (or a later one); rejects when payments
   * stop, or with `timeout` after `timeoutMs` (the state stays signed and is resent).
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
   * Stops payments on this channel: every queued and in-flight caller hears `err`, and so
   * does every later one. Signed states are not voided (the payee may hold them); closing
   * the channel settles whichever one the payee broadcasts.
   */
  halt(err: Error): void {
    if (this.haltedWith || this.stopped) return
    this.haltedWith = err
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    for (const e of [...this.queue, ...this.inflight.values()]) this.settle(e, err)
    this.queue = []
    this.inflight.clear()
    this.settleAckWaiters(err)
    this.checkIdle()
    this.deps.halted(err)
  }

  stop(): void {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    for (const e of [...this.queue, ...this.inflight.values()]) this.settle(e, new ContractError('unavailable', 'the channel engine stopped'))
    this.queue = []
    this.inflight.clear()
    this.settleAckWaiters(new ContractError('unavailable', 'the channel engine stopped'))
    this.checkIdle()
  }

  private pump(): void {
    if (this.reconciling || this.stopped || this.retryTimer || this.haltedWith) return
    while (this.queue.length > 0 && this.inflight.size < this.deps.window) {
      const e = this.queue.shift()!
      if (e.seq <= this.ackedSeq) {
        this.settle(e)
        continue
      }
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
    this.checkIdle()
  }

  private ack(seq: number, paidSats: number): void {
    if (seq <= this.ackedSeq) return
    this.ackedSeq = seq
    const done: Entry[] = []
    for (const [s, e] of this.inflight) {
      if (s > seq) continue
      done.push(e)
      this.inflight.delete(s)
    }
    // The queue is in seq order: what the ack covers is a prefix (no whole-queue pass per
    // ack, which made a deep pipeline quadratic).
    let covered = 0
    while (covered < this.queue.length && this.queue[covered]!.seq <= seq) done.push(this.queue[covered++]!)
    if (covered > 0) this.queue.splice(0, covered)
    // The ack is recorded in the background (group-committed): losing it in a crash costs
    // nothing, since the payee holds the state and the next reconcile learns it again.
    this.deps.acked(seq, paidSats).catch((err: unknown) => this.deps.logger.error('could not record an acknowledged payment', { err, seq }))
    for (const e of done) this.settle(e)
    if (this.ackWaiters.length > 0) this.settleAckWaiters()
    this.pump()
  }

  private settle(e: Entry, err?: Error): void {
    if (e.timer) clearTimeout(e.timer)
    e.timer = null
    if (e.settled) return
    e.settled = true
    if (err) e.reject(err)
    else e.resolve()
  }

  private retryLater(err: unknown): void {
    if (this.stopped || this.haltedWith) return
    for (const e of this.inflight.values()) this.queue.push(e)
    this.inflight.clear()
    this.queue.sort((a, b) => a.seq - b.seq)
    if (this.deps.away()) this.answerAway()
    if (this.retryTimer) return
    this.deps.logger.debug('channel link lost; reconciling', { err, pending: this.queue.length })
    const delay = this.retryMs
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.reconcile()
    }, delay)
  }

  /**
   * The payee went away with states signed and sent but not acknowledged: their callers
   * hear it now, not at their timeout. The states stay queued (the payee may already hold
   * them) and go out again when it is back; a keyed retry follows them.
   */
  private answerAway(): void {
    for (const e of this.queue) {
      if (e.settled || !e.timer) continue
      this.settle(e, new ContractError('unavailable', `the payee went away before acknowledging payment ${e.seq}; it stays signed and is sent again when the payee is back`, { seq: e.seq, pending: true }))
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
