// The channels as the engine holds them: live records in memory (ended ones only on disk),
// each change committed (group commit, synchronous=FULL) before it is visible or emitted,
// key indexes handed out atomically, and what the engine knows beside the stored record
// (problems, funding confirmations) for the UI.
import { CHANNEL_PROBLEMS, type Channel } from '../../shared/contract/index.js'
import type { EventBus } from '../kit/index.js'
import { GroupCommit, type Store } from '../store/index.js'
import type { Logger } from '../telemetry/index.js'
import { ChannelRepository, type ChannelView, toChannel } from './channel-repository.js'
import { type ChannelRecord, type ChannelRole, isFunded } from './records.js'
import { isTerminal } from './state-machine.js'

/** Something about a channel its owner must see (a failing settle, a lying peer, ...). */
export interface ChannelProblem {
  code: ProblemCode
  message: string
  since: number
}

export const PROBLEM_CODES = CHANNEL_PROBLEMS
/** settle-failing: the payee's settlement before expiry keeps failing (past expiry the payer can take the refund);
 * refund-failing; funding-failing: the funding tx could not be sent or found again; peer-misbehaved: the peer
 * broke the protocol (refused a valid payment, lied in a sync or a close), so payments stopped. */
export type ProblemCode = (typeof CHANNEL_PROBLEMS)[number]

export interface ChannelBookComponents {
  store: Store
  events: EventBus
  logger: Logger
}

export class ChannelBook {
  readonly repo: ChannelRepository
  readonly commit: GroupCommit
  private readonly live = new Map<string, ChannelRecord>()
  private readonly problems = new Map<string, ChannelProblem>()
  private readonly confirmations = new Map<string, { confirmations: number | null; required: number }>()
  private readonly emitQueued = new Set<string>()
  private nextKey = 0
  /** A channel reached a terminal state: the engine drops its hot-path caches. */
  onEnded: (c: ChannelRecord) => void = () => {}
  /** Anything that changes health (problems, counts). */
  onProblemsChanged: () => void = () => {}
  /** A committed change: `state` for a new record, `amount` for a payment moving the amounts. */
  onChanged: (c: ChannelRecord, kind: 'state' | 'amount') => void = () => {}

  constructor(private readonly components: ChannelBookComponents) {
    this.repo = new ChannelRepository(components.store)
    this.commit = new GroupCommit(components.store, { onCallbackError: (err) => components.logger.error('a channel write\'s callback failed', { err }) })
  }

  /** Reads the live channels from disk; a row that does not decode is logged and left alone. */
  load(): void {
    this.live.clear()
    this.problems.clear()
    this.confirmations.clear()
    for (const c of this.repo.live((err) => this.components.logger.error('a stored channel does not fit its state; it is left untouched', { err, channelId: err.channelId }))) this.live.set(c.id, c)
    this.nextKey = this.repo.maxKeyIndex() + 1
  }

  /** The key index the next channel will get (every one below it was given once). */
  get nextKeyIndex(): number {
    return this.nextKey
  }

  /** A restored backup names key indexes given before: they are never given again. */
  async reserveKeysBelow(next: number): Promise<void> {
    if (next <= this.nextKey) return
    await this.commit.run(() => this.repo.setKeyFloor(next))
    this.nextKey = next
  }

  /**
   * The next unused key index. Synchronous, so two proposals handled at once can never get
   * the same one (the earlier bug read the index before an await and wrote it after); the
   * unique constraint on `key_index` backs this up.
   */
  allocateKey(): number {
    return this.nextKey++
  }

  get(id: string): ChannelRecord | undefined {
    return this.live.get(id)
  }

  /** A live channel, or an ended one read from disk. */
  find(id: string): ChannelRecord | undefined {
    return this.live.get(id) ?? this.repo.get(id) ?? undefined
  }

  values(): IterableIterator<ChannelRecord> {
    return this.live.values()
  }

  /**
   * The channel `id` as a frame from `peerId` may see it: undefined unless `peerId` is its
   * peer (a peer learns nothing of other peers' channels); `wrong-role` when we do not hold
   * `role` in it (the frame is the other side's to receive).
   */
  owned(peerId: string, id: string, role: ChannelRole): ChannelRecord | 'wrong-role' | undefined {
    const c = this.find(id)
    if (!c || c.peerId !== peerId) return undefined
    return c.role === role ? c : 'wrong-role'
  }

  /**
   * Persists a new channel (the unique constraints refuse a taken key or funding), then
   * shows it. `alongside` is written in the same transaction (an idempotency key).
   */
  async insert(c: ChannelRecord, alongside?: () => void): Promise<void> {
    await this.commit.run(() => {
      this.repo.insert(c)
      alongside?.()
    })
    this.live.set(c.id, c)
    this.onChanged(c, 'state')
    this.emit(c)
  }

  /** Persists `next` as the channel's new record, then makes it the live one and emits it. */
  async put(next: ChannelRecord): Promise<ChannelRecord> {
    next.updatedAt = Date.now()
    await this.commit.run(() => this.repo.save(next))
    if (isTerminal(next.state)) {
      this.live.delete(next.id)
      this.confirmations.delete(next.id)
      if (this.problems.delete(next.id)) this.onProblemsChanged()
      this.onEnded(next)
    } else {
      this.live.set(next.id, next)
    }
    this.onChanged(next, 'state')
    this.emit(next)
    return next
  }

  /**
   * Records the funding's block height on a funded channel. Not through `put`: payments
   * move the live record's amounts in place, off the mailbox, so a whole record copied
   * before a payment and made live after it would take that payment back in memory (the
   * payee then refuses the next settlement as out of sequence, which stops the channel).
   * Only the one column is written; the live record, whichever it is by then, takes it.
   */
  async setFundingHeight(id: string, height: number): Promise<void> {
    const now = Date.now()
    await this.commit.run(() => this.repo.setFundingHeight(id, height, now))
    const c = this.live.get(id)
    if (!c || !isFunded(c)) return
    c.fundingHeight = height
    c.updatedAt = now
    this.onChanged(c, 'state')
    this.emit(c)
  }

  /** `archivedAt` when the caller already read it (a listing); otherwise an ended channel's is read from disk. */
  view(c: ChannelRecord, archivedAt?: number | null): Channel {
    const conf = this.confirmations.get(c.id)
    const view: ChannelView = {
      problem: this.problems.get(c.id) ?? null,
      fundingConfirmations: conf?.confirmations ?? null,
      requiredConfirmations: conf?.required ?? null,
      archivedAt: archivedAt !== undefined ? archivedAt : isTerminal(c.state) ? this.repo.archivedAt(c.id) : null,
    }
    return toChannel(c, view)
  }

  /**
   * Archives an ended channel: hidden from the listing, kept on disk with its payments.
   * The row's `updatedAt` moves with it, so a view that overtakes an older one wins.
   */
  async archive(id: string): Promise<Channel | null> {
    const now = Date.now()
    const changed = await this.commit.run(() => this.repo.archive(id, now))
    const c = this.find(id)
    if (!c) return null
    const view = this.view(c)
    if (changed) this.components.events.emit('channels', view)
    return view
  }

  emit(c: ChannelRecord): void {
    this.components.events.emit('channels', this.view(c))
  }

  /** Payments move amounts many times a millisecond: one event per channel per turn. */
  emitSoon(id: string): void {
    const live = this.live.get(id)
    if (live) this.onChanged(live, 'amount')
    if (this.emitQueued.has(id)) return
    this.emitQueued.add(id)
    setImmediate(() => {
      this.emitQueued.delete(id)
      const c = this.live.get(id)
      if (c) this.emit(c)
    })
  }

  problem(id: string): ChannelProblem | undefined {
    return this.problems.get(id)
  }

  allProblems(): [string, ChannelProblem][] {
    return [...this.problems]
  }

  setProblem(id: string, code: ProblemCode, message: string): void {
    const was = this.problems.get(id)
    if (was?.code === code && was.message === message) return
    this.problems.set(id, { code, message, since: was?.code === code ? was.since : Date.now() })
    this.onProblemsChanged()
    const c = this.live.get(id)
    if (c) this.emit(c)
  }

  clearProblem(id: string, code?: ProblemCode): void {
    const was = this.problems.get(id)
    if (!was || (code && was.code !== code)) return
    this.problems.delete(id)
    this.onProblemsChanged()
    const c = this.live.get(id)
    if (c) this.emit(c)
  }

  setConfirmations(id: string, confirmations: number | null, required: number): void {
    const was = this.confirmations.get(id)
    if (was?.confirmations === confirmations && was.required === required) return
    this.confirmations.set(id, { confirmations, required })
    const c = this.live.get(id)
    if (c) this.emit(c)
  }
}
