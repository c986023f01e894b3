// The channels against the chain: looks up what `lookupsFor` asks, lets
// `decideChainAction` decide, and carries the decision out inside the channel's mailbox.
// A failed action is retried with backoff; one that can cost money (a settlement before
// expiry, a refund, a funding that cannot be sent) is a warning, a metric, a health reason
// and a problem on the channel the UI shows, until it succeeds.
import type { Counter } from 'prom-client'
import { BroadcastRejectedError, ChainProtocolError, type ChainBroadcaster, type ChainLookup } from '../chain/index.js'
import { nextDelay } from '../kit/index.js'
import type { Logger } from '../telemetry/index.js'
import type { ChannelBook, ProblemCode } from './channel-book.js'
import type { ChannelMailbox } from './channel-mailbox.js'
import type { ChannelTx } from './channel-tx.js'
import { type ChainAction, type ChainFacts, type ChainPolicy, type SpendFact, decideChainAction, lookupsFor } from './chain-decision.js'
import { checkFundingOutput, classifySpend } from './chain-checks.js'
import type { ChainTip } from './chain-tip.js'
import type { PayerSide } from './payer-side.js'
import type { PayeeSide } from './payee-side.js'
import { stripState } from './payee-side.js'
import { type ChannelRecord, type FailureReason, type FundedChannel, type PayeeFundingBound, type PayerClosing, type PayerEnded, fundingOutpointOf, isFunded, stepOf } from './records.js'
import { transition } from './state-machine.js'

export interface ChainWatchComponents {
  book: ChannelBook
  mailbox: ChannelMailbox
  lookup: ChainLookup
  broadcaster: ChainBroadcaster
  tip: ChainTip
  tx: ChannelTx
  payer: Pick<PayerSide, 'refund' | 'fundingSeen' | 'askOpen' | 'fail'>
  payee: Pick<PayeeSide, 'settleHeld' | 'open' | 'fail'>
  releaseFunding(reservationId: string): void
  completeFunding(reservationId: string, channelId: string, txid: string, capacitySats: number): void
  failures: Counter<'action'>
  log: Logger
}

export interface ChainWatchInit {
  policy: ChainPolicy
  /** First retry delay bound of a failed action; doubles per failure, with full jitter. */
  retryBaseMs: number
  /** The longest wait between retries of a failed action. */
  retryMaxMs: number
}

/** Actions whose failure can cost money, and the problem each raises. */
const MONEY_ACTIONS: Partial<Record<ChainAction['kind'], ProblemCode>> = {
  settle: 'settle-failing',
  refund: 'refund-failing',
  'broadcast-funding': 'funding-failing',
}

interface Gathered {
  facts: ChainFacts
  /** The raw funding tx, when it was fetched (the payee stores it on open). */
  fundingHex: string | null
}


export class ChainWatch {
  private round: Promise<void> | null = null
  private nextRound: Promise<void> | null = null
  private running = false
  private readonly spendCheckedAt = new Map<string, number>()
  /**
   * Failed actions per channel, and when (performance.now()) each may be tried again: a
   * backoff holds back only the action that failed, never another (a refund waits for nothing).
   */
  private readonly retry = new Map<string, { action: ChainAction['kind']; failures: number; at: number }>()

  constructor(
    private readonly c: ChainWatchComponents,
    private readonly init: ChainWatchInit,
  ) {}

  start(): void {
    this.running = true
  }

  stop(): void {
    this.running = false
  }

  forget(id: string): void {
    this.spendCheckedAt.delete(id)
    this.retry.delete(id)
  }

  /**
   * A round over every live channel no operation holds, begun after this call: while one
   * runs, the callers wait for it and share the one queued behind it.
   */
  check(): Promise<void> {
    if (!this.running) return Promise.resolve()
    if (this.round) {
      this.nextRound ??= this.round.then(() => {
        this.nextRound = null
        return this.check()
      })
      return this.nextRound
    }
    const round = this.runRound().finally(() => {
      if (this.round === round) this.round = null
    })
    this.round = round
    return round
  }

  private async runRound(): Promise<void> {
    let height: number
    try {
      height = await this.c.tip.refresh()
    } catch (err) {
      this.c.log.debug('chain height unavailable; channels not checked this round', { err })
      return
    }
    for (const c of [...this.c.book.values()]) {
      if (!this.running) return
      if (this.c.mailbox.busy(c.id)) continue
      await this.step(c, height)
    }
  }

  private async step(seen: ChannelRecord, height: number): Promise<void> {
    let action = { kind: 'wait' } as ChainAction
    try {
      const g = await this.gather(seen, height)
      await this.c.mailbox.run(seen.id, async () => {
        const c = this.c.book.get(seen.id)
        // Changed while we looked (a peer's frame, a local call): decide on it next round.
        if (!c || c.state !== seen.state || stepOf(c) !== stepOf(seen)) return
        action = decideChainAction(c, g.facts, this.init.policy)
        const r = this.retry.get(c.id)
        if (r && r.action === action.kind && performance.now() < r.at) {
          action = { kind: 'wait' }
          return
        }
        if (action.kind !== 'wait') this.c.log.debug('chain action', { channelId: c.id, action: action.kind })
        await this.apply(c, action, g)
      })
      if (action.kind !== 'wait') this.succeeded(seen.id, action)
    } catch (err) {
      this.failed(seen, action, err)
    }
  }

  /** Looks up what the decision needs: the chain's own answers, never what a peer said. */
  async gather(c: ChannelRecord, height: number): Promise<Gathered> {
    const lookups = lookupsFor(c, height, this.spendCheckedAt.get(c.id), this.init.policy)
    const facts: ChainFacts = { height, now: Date.now() }
    let fundingHex: string | null = null
    const outpoint = fundingOutpointOf(c)
    if (!outpoint) return { facts, fundingHex }
    const lookup = this.c.lookup
    if (lookups.funding) facts.funding = await lookup.txStatus(outpoint.txid)
    if (lookups.fundingOutput && facts.funding && c.state === 'funding' && c.role === 'payee') {
      const raw = await lookup.rawTx(outpoint.txid)
      if (raw !== null) {
        facts.fundingOutput = checkFundingOutput(raw, outpoint, this.c.tx.fundingScriptHex(c), c.capacitySats)
        fundingHex = raw
      }
    }
    if (lookups.spend && facts.funding !== null) {
      const spender = await lookup.spentBy(outpoint.txid, outpoint.vout)
      this.spendCheckedAt.set(c.id, height)
      facts.spend = spender ? await this.spendFact(c, outpoint, spender.txid) : await this.recordedSpend(c)
    }
    if (c.state === 'funding' && c.role === 'payee' && c.step === 'refund-signed') {
      this.c.book.setConfirmations(c.id, facts.funding?.confirmations ?? null, this.init.policy.requiredConfirmations(c.capacitySats))
    }
    return { facts, fundingHex }
  }

  private async spendFact(c: ChannelRecord, outpoint: { txid: string; vout: number }, txid: string): Promise<SpendFact> {
    const [raw, status] = await Promise.all([this.c.lookup.rawTx(txid), this.c.lookup.txStatus(txid)])
    const spend = raw === null ? null : classifySpend(raw, txid, outpoint, c.expiry)
    if (!spend) throw new ChainProtocolError(`the chain service names ${txid} as spending ${outpoint.txid}:${outpoint.vout}, but it does not`)
    return { ...spend, confirmations: status?.confirmations ?? 0 }
  }

  /**
   * A spend we recorded (our broadcast, or a settlement we checked) that the spent-output
   * index does not show yet, as some services index only mined spends: still ours if the
   * chain holds it.
   */
  private async recordedSpend(c: ChannelRecord): Promise<SpendFact | null> {
    if (c.state !== 'closing' || !c.spend) return null
    const status = await this.c.lookup.txStatus(c.spend.txid)
    if (!status) return null
    return { ...c.spend, confirmations: status.confirmations, payeeSats: c.spend.kind === 'settlement' ? c.paidSats : 0 }
  }

  /** The payee's `funded` handler asks the same question the watch asks, the same way. */
  async verify(c: PayeeFundingBound): Promise<{ facts: ChainFacts; fundingHex: string | null; required: number; decision: 'open' | 'wait' | { fail: FailureReason } }> {
    const height = await this.c.tip.height()
    const g = await this.gather(c, height)
    const action = decideChainAction(c, g.facts, this.init.policy)
    const required = this.init.policy.requiredConfirmations(c.capacitySats)
    const decision = action.kind === 'open' ? 'open' : action.kind === 'fail' ? { fail: action.reason } : 'wait'
    return { ...g, required, decision }
  }

  private async apply(c: ChannelRecord, action: ChainAction, g: Gathered): Promise<void> {
    switch (action.kind) {
      case 'wait':
        return
      case 'fail':
        if (c.role === 'payer' && (c.state === 'proposed' || c.state === 'funding')) {
          if (c.state === 'funding' && c.step === 'built' && c.built.reservationId) this.c.releaseFunding(c.built.reservationId)
          await this.c.payer.fail(c, action.reason)
        } else if (c.role === 'payee' && (c.state === 'proposed' || c.state === 'funding')) {
          await this.c.payee.fail(c, action.reason)
        }
        this.c.log.info('channel ended before funding', { channelId: c.id, role: c.role, reason: action.reason })
        return
      case 'broadcast-funding':
        await this.rebroadcastFunding(c)
        return
      case 'funding-seen':
        if (c.role === 'payer' && c.state === 'funding' && c.step === 'refund-signed') await this.c.payer.fundingSeen(c)
        return
      case 'ask-open':
        if (c.role === 'payer' && c.state === 'funding' && c.step === 'broadcast') await this.c.payer.askOpen(c)
        return
      case 'open':
        if (c.role === 'payee' && c.state === 'funding' && c.step === 'refund-signed' && g.fundingHex !== null) await this.c.payee.open(c, g.fundingHex, g.facts.funding?.height ?? null)
        return
      case 'funding-height':
        if (isFunded(c)) await this.c.book.setFundingHeight(c.id, action.height)
        return
      case 'settle':
        this.c.log.info('settling before expiry', { channelId: c.id, height: g.facts.height, expiry: c.expiry })
        await this.c.payee.settleHeld(c.id)
        return
      case 'refund': {
        if (c.role !== 'payer' || !(c.state === 'funding' || c.state === 'open' || c.state === 'closing')) return
        const txid = await this.c.payer.refund(c)
        await this.recordSpend(c, { kind: 'refund', txid, confirmations: 0, payeeSats: 0 }, false)
        return
      }
      case 'spent':
        await this.recordSpend(c, action.spend, action.final)
        return
    }
  }

  /** The chain does not know the funding: send the stored bytes again; a refusal for spent inputs proves it can never be mined. */
  private async rebroadcastFunding(c: ChannelRecord): Promise<void> {
    const hex = c.state === 'funding' && c.role === 'payer' && c.step !== 'accepted' ? c.built.hex : isFunded(c) ? c.fundingHex : null
    if (hex === null) return
    try {
      await this.c.broadcaster.broadcast(hex)
    } catch (err) {
      if (!(err instanceof BroadcastRejectedError) || (err.reason !== 'double-spend' && err.reason !== 'missing-inputs')) throw err
      this.c.log.warn('the channel funding can never be mined: its inputs are spent elsewhere', { channelId: c.id, role: c.role, reason: err.reason })
      if (c.state === 'funding' && c.role === 'payer') {
        if (c.step !== 'accepted' && c.built.reservationId) this.c.releaseFunding(c.built.reservationId)
        await this.c.payer.fail(c, 'funding-lost')
        return
      }
      if (isFunded(c) && (c.state === 'open' || c.state === 'closing')) {
        transition(c.state, 'fundingLost')
        await this.c.book.put({ ...stripState(c), role: c.role, state: 'failed', failure: 'funding-lost', payeePub: c.payeePub, fundingTxid: c.funding.txid })
      }
    }
  }

  /** A spend of the funding, as the chain shows it: closing, or its end once confirmed. */
  private async recordSpend(c: ChannelRecord, spend: SpendFact, final: boolean): Promise<void> {
    const state = final ? (spend.kind === 'settlement' ? 'closed' : 'refunded') : 'closing'
    const event = final ? (spend.kind === 'settlement' ? 'settlementConfirmed' : 'refundConfirmed') : spend.kind === 'settlement' ? 'settlementBroadcast' : 'refundBroadcast'
    transition(c.state, event)
    const recorded = { kind: spend.kind, txid: spend.txid }
    if (isFunded(c)) {
      const next = { ...c, state, spend: recorded } as FundedChannel
      if (c.role === 'payer' && spend.kind === 'settlement') {
        // What the chain paid the payee is the truth of the payer's books.
        next.paidSats = spend.payeeSats
        const row = this.c.book.repo.paymentPaying(c.id, spend.payeeSats)
        if (row) next.seq = row.seq
      }
      await this.c.book.put(next)
      return
    }
    if (c.role === 'payer' && c.state === 'funding' && (c.step === 'refund-signed' || c.step === 'broadcast')) {
      // The payee never opened: the refund brought the coins back.
      if (c.built.reservationId) this.c.completeFunding(c.built.reservationId, c.id, c.built.outpoint.txid, c.capacitySats)
      const ended: PayerClosing | PayerEnded = {
        ...stripState(c), role: 'payer', state, payeePub: c.payeePub, payerAddress: c.built.payerAddress, payeeAddress: null, funding: c.built.outpoint,
        fundingHex: c.built.hex, fundingHeight: null, seq: 0, paidSats: 0, refundPayeeSig: c.refundPayeeSig, spend: recorded,
      } as PayerClosing | PayerEnded
      await this.c.book.put(ended)
    }
  }

  private succeeded(id: string, action: ChainAction): void {
    if (this.retry.get(id)?.action === action.kind) this.retry.delete(id)
    const problem = MONEY_ACTIONS[action.kind]
    if (problem) this.c.book.clearProblem(id, problem)
  }

  private failed(c: ChannelRecord, action: ChainAction, err: unknown): void {
    const was = this.retry.get(c.id)
    const failures = (was?.action === action.kind ? was.failures : 0) + 1
    const delay = nextDelay(failures, { baseDelayMs: this.init.retryBaseMs, maxDelayMs: this.init.retryMaxMs })
    // A failed look-up holds nothing back: the next round looks again.
    // Monotonic: a wall clock set back would otherwise hold a settlement's retry back by as much, past an expiry.
    if (action.kind !== 'wait') this.retry.set(c.id, { action: action.kind, failures, at: performance.now() + delay })
    const label = action.kind === 'wait' ? 'lookup' : action.kind
    this.c.failures.inc({ action: label })
    const problem = MONEY_ACTIONS[action.kind]
    if (problem) {
      const message = `${action.kind === 'settle' ? 'settling before expiry' : action.kind === 'refund' ? 'the refund' : 'sending the funding'} failed ${failures} time${failures === 1 ? '' : 's'} (${(err as Error)?.message ?? String(err)}); retrying`
      this.c.log.warn('a channel action that protects funds failed; retrying', { channelId: c.id, action: action.kind, failures, retryInMs: delay, err })
      this.c.book.setProblem(c.id, problem, message)
      return
    }
    this.c.log.debug('channel chain step failed; retrying', { channelId: c.id, action: label, failures, err })
  }
}
