// The payee's side of the protocol, a state machine: each request is checked against the
// stored channel of the authenticated peer and its state, and one the state does not
// expect is refused and changes nothing. Control frames run one at a time per channel
// (the mailbox); payments take the hot path, whose checks are synchronous so pipelined
// states are judged in arrival order, and each is committed (group commit,
// synchronous=FULL) before its acknowledgement leaves.
import { ContractError } from '../../shared/contract/index.js'
import type { ChainBroadcaster } from '../chain/index.js'
import type { Network } from '../config/index.js'
import type { Logger } from '../telemetry/index.js'
import { parseAddress } from '../wallet/index.js'
import type { ChannelBook } from './channel-book.js'
import type { PaymentRecord } from './channel-repository.js'
import type { ChannelKeys } from './channel-keys.js'
import type { ChannelMailbox } from './channel-mailbox.js'
import type { ChainTip } from './chain-tip.js'
import type { ChainFacts, ChainPolicy } from './chain-decision.js'
import { ChannelRefusal, type ChannelLink, type ChannelRequest, type ResultOf } from './protocol.js'
import type { ProposalLimits } from './proposal-limits.js'
import type { ChannelRecord, FailureReason, PayeeChannel, PayeeClosing, PayeeFundingBound, PayeeOpen, Terms } from './records.js'
import { isCurvePoint } from './signer.js'
import type { SignatureScheduler } from './signature-scheduler.js'
import { validatePayment } from './state-machine.js'
import type { ChannelTx } from './channel-tx.js'

type Req<K extends ChannelRequest['t']> = Extract<ChannelRequest, { t: K }>

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

/**
 * Settlements waiting for their turn at signature work, per peer and in all: past either, a
 * settlement is answered `busy` (the payer resends it after a pause), so a peer that floods
 * frames faster than they can be verified fills a bounded queue, not memory. A frame is at
 * most 16 KiB; an honest payer has at most `channels.window` (32 by default, 1,024 at most)
 * in flight on each channel.
 */
const MAX_WAITING_PER_PEER = 2_048
const MAX_WAITING_TOTAL = 16_384

/** A settlement judged: a resent one to acknowledge again, or a new state already made the in-memory one, to store. */
type Judged = { resent: true } | { resent: false; c: PayeeOpen; before: Pick<PayeeOpen, 'seq' | 'paidSats' | 'lastSig'>; rows: PaymentRecord[]; now: number }

export interface PayeeSideComponents {
  book: ChannelBook
  mailbox: ChannelMailbox
  keys: ChannelKeys
  tx: ChannelTx
  tip: ChainTip
  limits: ProposalLimits
  broadcaster: ChainBroadcaster
  /** A fresh payout address of the wallet, issued only when a channel is funded. */
  newPayoutAddress(): Promise<string>
  link(peerId: string): ChannelLink
  /** Looks up the chain facts of a channel and decides, as the chain watch does. */
  verify(c: PayeeFundingBound): Promise<{ facts: ChainFacts; fundingHex: string | null; required: number; decision: 'open' | 'wait' | { fail: FailureReason } }>
  /** Turns at signature work, shared with the payer side. */
  turns: SignatureScheduler
  countPayment(sats: number): void
  /** One settlement verified and stored (it may cover several payments). */
  countSettlement(): void
  log: Logger
}

export interface PayeeSideInit {
  network: Network
  policy: ChainPolicy
  autoAcceptMaxSats: number
  /** The lowest channel fee rate we accept. */
  minFeeRateSatsPerKb: number
}

export class PayeeSide {
  /** Channels whose settlement is being signed: payments arriving now are refused. */
  private readonly settling = new Set<string>()
  /** Settlements waiting for their turn, by peer (MAX_WAITING_PER_PEER). */
  private readonly waiting = new Map<string, number>()
  private waitingTotal = 0

  constructor(
    private readonly c: PayeeSideComponents,
    private readonly init: PayeeSideInit,
  ) {}

  private own(peerId: string, id: string): PayeeChannel {
    const c = this.c.book.owned(peerId, id, 'payee')
    // The same answer for "unknown" and "someone else's": a peer learns nothing of other channels.
    if (!c) throw new ChannelRefusal('unknown_channel', 'no such channel with this peer')
    if (c === 'wrong-role') throw new ChannelRefusal('unexpected', 'we pay in this channel; only the payee is sent this')
    return c as PayeeChannel
  }

  // ---- opening ----

  async onPropose(peerId: string, req: Req<'propose'>): Promise<ResultOf<'propose'>> {
    if (this.c.book.find(req.channelId)) return this.c.mailbox.run(req.channelId, async () => this.repeatedProposal(peerId, req))
    const release = this.c.limits.reserve(peerId)
    try {
      this.checkTerms(req)
      const height = await this.c.tip.height().catch(() => {
        throw new ChannelRefusal('unavailable', 'the chain service is unreachable; propose again later')
      })
      if (req.expiry <= height + this.init.policy.closeMarginBlocks) throw new ChannelRefusal('refused', `the expiry must be above block ${height + this.init.policy.closeMarginBlocks}`)
      return await this.c.mailbox.run(req.channelId, async () => {
        if (this.c.book.find(req.channelId)) return this.repeatedProposal(peerId, req)
        const keyIndex = this.c.book.allocateKey()
        const payeePub = this.c.keys.publicHex(keyIndex)
        if (payeePub === req.payerPub) throw new ChannelRefusal('refused', 'the payer key is ours')
        const now = Date.now()
        const terms: Terms = {
          id: req.channelId, peerId, capacitySats: req.capacitySats, expiry: req.expiry, feeRate: req.feeRate, settlementFeeSats: req.settlementFeeSats,
          refundFeeSats: req.refundFeeSats, payerPub: req.payerPub, keyIndex, createdAt: now, updatedAt: now,
        }
        const auto = req.capacitySats <= this.init.autoAcceptMaxSats
        const c: PayeeChannel = auto ? { ...terms, role: 'payee', state: 'funding', step: 'accepted', payeePub } : { ...terms, role: 'payee', state: 'proposed', payeePub }
        await this.c.book.insert(c)
        return auto ? { decision: 'accepted', payeePub } : { decision: 'pending' }
      })
    } finally {
      release()
    }
  }

  /** The same proposal again (a payer retrying after a lost answer) gets the same answer; anything else is refused. */
  private repeatedProposal(peerId: string, req: Req<'propose'>): ResultOf<'propose'> {
    const c = this.c.book.owned(peerId, req.channelId, 'payee')
    if (
      !c || c === 'wrong-role' || c.capacitySats !== req.capacitySats || c.payerPub !== req.payerPub || c.expiry !== req.expiry || c.feeRate !== req.feeRate ||
      c.settlementFeeSats !== req.settlementFeeSats || c.refundFeeSats !== req.refundFeeSats
    ) throw new ChannelRefusal('conflict', 'a different channel already has this id')
    if (c.state === 'proposed') return { decision: 'pending' }
    if (c.state === 'funding') return { decision: 'accepted', payeePub: c.payeePub }
    throw new ChannelRefusal('unexpected', `the channel is ${c.state}`)
  }

  private checkTerms(req: Req<'propose'>): void {
    const fees = this.c.tx.fees(req.feeRate)
    if (req.feeRate < this.init.minFeeRateSatsPerKb) throw new ChannelRefusal('refused', `the fee rate must be at least ${this.init.minFeeRateSatsPerKb} sat/kB`)
    if (req.settlementFeeSats !== fees.settlementFeeSats || req.refundFeeSats !== fees.refundFeeSats) throw new ChannelRefusal('refused', 'the fees do not match the fee rate')
    if (req.capacitySats <= fees.settlementFeeSats + fees.refundFeeSats + 1) throw new ChannelRefusal('refused', 'the capacity does not cover the fees')
    if (!isCurvePoint(bytes(req.payerPub))) throw new ChannelRefusal('refused', 'the payer key is not a point on the curve')
  }

  /** acceptChannel: a pending proposal, accepted by the user. */
  async accept(id: string): Promise<void> {
    await this.c.mailbox.run(id, async () => {
      const c = this.c.book.get(id)
      if (!c || c.role !== 'payee' || c.state !== 'proposed') throw new ContractError('invalid_state', 'only a proposal made to us can be accepted')
      const next = await this.c.book.put({ ...stripState(c), role: 'payee', state: 'funding', step: 'accepted', payeePub: c.payeePub })
      try {
        await this.c.link(c.peerId).request({ t: 'accept', channelId: c.id, payeePub: c.payeePub })
      } catch (err) {
        await this.c.book.put({ ...stripState(next), role: 'payee', state: 'failed', failure: 'peer-unreachable', payeePub: c.payeePub, fundingTxid: null })
        throw err
      }
    })
  }

  async reject(id: string): Promise<void> {
    const c = await this.c.mailbox.run(id, async () => {
      const c = this.c.book.get(id)
      if (!c || c.role !== 'payee' || c.state !== 'proposed') throw new ContractError('invalid_state', 'only a proposal made to us can be rejected')
      return this.c.book.put({ ...stripState(c), role: 'payee', state: 'rejected', payeePub: c.payeePub })
    })
    await this.c.link(c.peerId).request({ t: 'reject', channelId: c.id }).catch((err: unknown) => this.c.log.debug('reject notice not delivered', { err, channelId: id }))
  }

  async onSignRefund(peerId: string, req: Req<'signRefund'>): Promise<ResultOf<'signRefund'>> {
    return this.c.mailbox.run(req.channelId, async () => {
      const c = this.own(peerId, req.channelId)
      if (c.state !== 'funding') throw new ChannelRefusal('unexpected', `the channel is ${c.state}`)
      let bound: PayeeFundingBound
      if (c.step === 'refund-signed') {
        // The same request again (its answer was lost) is signed again; another outpoint never.
        if (c.funding.txid !== req.fundingTxid || c.funding.vout !== req.fundingVout || c.payerAddress !== req.payerAddress) throw new ChannelRefusal('conflict', 'the refund was already signed for another funding output')
        bound = c
      } else {
        const payerAddress = this.address(req.payerAddress)
        const owner = this.c.book.repo.fundingOwner(req.fundingTxid, req.fundingVout)
        if (owner !== null) throw new ChannelRefusal('conflict', 'that output already funds another channel')
        // Bound and on disk before the signature leaves: this channel is this outpoint's, only.
        bound = (await this.c.book.put({ ...stripState(c), role: 'payee', state: 'funding', step: 'refund-signed', payeePub: c.payeePub, funding: { txid: req.fundingTxid, vout: req.fundingVout }, payerAddress }).catch((err: unknown) => {
          if (String((err as Error).message).includes('UNIQUE')) throw new ChannelRefusal('conflict', 'that output already funds another channel')
          throw err
        })) as typeof bound
      }
      const sig = this.c.tx.signRefund(bound, this.c.keys.private(bound.keyIndex))
      return { sig: Buffer.from(sig).toString('hex') }
    })
  }

  /** The payer says its funding is out: verify it on chain ourselves; open only on what we found. */
  async onFunded(peerId: string, req: Req<'funded'>): Promise<ResultOf<'funded'>> {
    return this.c.mailbox.run(req.channelId, async () => {
      const c = this.own(peerId, req.channelId)
      if (c.state === 'open' || c.state === 'closing') {
        if (c.funding.txid !== req.fundingTxid || c.funding.vout !== req.fundingVout) throw new ChannelRefusal('conflict', 'not the funding of this channel')
        return { state: 'open', payeeAddress: c.payeeAddress }
      }
      if (c.state !== 'funding' || c.step !== 'refund-signed') throw new ChannelRefusal('unexpected', `the channel is ${c.state}${c.state === 'funding' ? ' (refund not signed)' : ''}`)
      if (c.funding.txid !== req.fundingTxid || c.funding.vout !== req.fundingVout) throw new ChannelRefusal('conflict', 'not the funding of this channel')
      const v = await this.c.verify(c)
      if (v.decision === 'open' && v.fundingHex !== null) {
        const opened = await this.open(c, v.fundingHex, v.facts.funding?.height ?? null)
        return { state: 'open', payeeAddress: opened.payeeAddress }
      }
      if (typeof v.decision === 'object') {
        await this.fail(c, v.decision.fail)
        throw new ChannelRefusal('refused', `the funding does not hold: ${v.decision.fail}`)
      }
      return { state: 'waiting', confirmations: v.facts.funding?.confirmations ?? 0, required: v.required }
    })
  }

  /** Funding verified (decideChainAction said `open`): issue the payout address now, not before. */
  async open(c: PayeeFundingBound, fundingHex: string, fundingHeight: number | null): Promise<PayeeOpen> {
    const payeeAddress = await this.c.newPayoutAddress()
    const next: PayeeOpen = {
      ...stripState(c), role: 'payee', state: 'open', payeePub: c.payeePub, payerAddress: c.payerAddress, payeeAddress, funding: c.funding, fundingHex,
      fundingHeight, seq: 0, paidSats: 0, lastSig: null,
    }
    await this.c.book.put(next)
    this.c.log.info('channel open', { channelId: c.id, role: 'payee', capacitySats: c.capacitySats })
    return next
  }

  async fail(c: PayeeChannel, failure: FailureReason): Promise<void> {
    await this.c.book.put({ ...stripState(c), role: 'payee', state: 'failed', failure, payeePub: 'payeePub' in c ? c.payeePub : null, fundingTxid: c.state === 'funding' && c.step === 'refund-signed' ? c.funding.txid : null })
  }

  // ---- payments (the hot path) ----

  /**
   * Judged in the channel's turn at signature work (SignatureScheduler: turns run in the order
   * asked, so pipelined states are still judged in arrival order against the in-memory state,
   * and a node paid on many channels serves them in turn); stored after.
   */
  onPay(peerId: string, req: Req<'pay'>): Promise<ResultOf<'pay'>> {
    const mine = this.waiting.get(peerId) ?? 0
    if (mine >= MAX_WAITING_PER_PEER || this.waitingTotal >= MAX_WAITING_TOTAL) return Promise.reject(new ChannelRefusal('busy', 'too many settlements wait to be verified; send it again shortly'))
    this.waiting.set(peerId, mine + 1)
    this.waitingTotal++
    const done = (): void => {
      this.waitingTotal--
      const left = (this.waiting.get(peerId) ?? 1) - 1
      if (left > 0) this.waiting.set(peerId, left)
      else this.waiting.delete(peerId)
    }
    return new Promise((resolve, reject) => {
      this.c.turns.turn(
        () => {
          done()
          let judged: Judged
          try {
            judged = this.judgePay(peerId, req)
          } catch (err) {
            reject(err as Error)
            return
          }
          // Called in the turn: its write joins the commit the frame's reader flushes after it.
          this.storePay(req, judged).then(resolve, reject)
        },
        () => {
          done()
          reject(new ChannelRefusal('unexpected', 'the channel engine is stopping'))
        },
      )
    })
  }

  private async storePay(req: Req<'pay'>, judged: Judged): Promise<ResultOf<'pay'>> {
    if (judged.resent) {
      await this.c.book.commit.run(() => null)
      return { seq: req.seq }
    }
    const { c, before, rows, now } = judged
    try {
      await this.c.book.commit.run(() => this.c.book.repo.storeReceived(c.id, rows, now))
    } catch (err) {
      if (c.seq === req.seq) Object.assign(c, before)
      throw err
    }
    c.updatedAt = now
    for (const r of rows) this.c.countPayment(r.sats)
    this.c.countSettlement()
    this.c.book.emitSoon(c.id)
    return { seq: req.seq }
  }

  /** Every check of a settlement, its signature's included, and its state made the in-memory one: synchronous, so nothing judged meanwhile. */
  private judgePay(peerId: string, req: Req<'pay'>): Judged {
    const c = this.c.book.get(req.channelId)
    if (!c || c.peerId !== peerId || c.role !== 'payee' || c.state !== 'open') {
      // Off the hot path: an ended channel is read from disk only to say why it refuses.
      throw new ChannelRefusal('unexpected', `the channel is ${this.own(peerId, req.channelId).state}`)
    }
    if (this.settling.has(c.id)) throw new ChannelRefusal('unexpected', 'the channel is being settled')
    if (req.payments && req.memo !== undefined) throw new ChannelRefusal('malformed', 'a coalesced settlement carries its memos in its list')
    const height = this.c.tip.latest
    if (height !== null && height >= c.expiry - this.init.policy.closeMarginBlocks) throw new ChannelRefusal('unexpected', 'the channel is too close to its expiry for payments')
    if (req.seq <= c.seq) {
      // A resent state (after a lost link) is acknowledged again; any other is a replay.
      const known = req.seq === c.seq ? { paidSats: c.paidSats, sig: c.lastSig } : this.c.book.repo.payment(c.id, req.seq)
      if (!known || known.paidSats !== req.paidSats || known.sig !== req.sig) throw new ChannelRefusal('conflict', `sequence ${req.seq} was already used for another state`)
      return { resent: true }
    }
    // A coalesced settlement covers payments c.seq + 1 .. req.seq, listed one by one.
    const listed = req.payments
    const count = listed?.length ?? 1
    if (req.seq - count !== c.seq) throw new ChannelRefusal('refused', `sequence ${req.seq - count + 1}${count > 1 ? `..${req.seq}` : ''} does not follow ${c.seq}`)
    // The span is checked above; validatePayment judges the amounts against the stored state.
    const verdict = validatePayment({ capacity: c.capacitySats, paidSats: c.paidSats, newPaidSats: req.paidSats, seq: c.seq, newSeq: c.seq + 1, feeSats: c.settlementFeeSats })
    if (!verdict.ok) throw new ChannelRefusal('refused', verdict.message)
    if (listed) {
      // Integers, each at least 1 sat (the schema); the sum stops at the first excess, so it stays a safe integer.
      let sum = 0
      for (const p of listed) {
        sum += p.sats
        if (sum > verdict.amountSats) break
      }
      if (sum !== verdict.amountSats) throw new ChannelRefusal('malformed', `the listed payments do not sum to the ${verdict.amountSats} sat this settlement adds`)
    }
    if (!this.c.tx.settlement(c).verify(req.paidSats, bytes(req.sig), bytes(c.payerPub), this.c.keys.backend)) throw new ChannelRefusal('bad_signature', 'the signature does not sign this settlement with the payer key')
    const before = { seq: c.seq, paidSats: c.paidSats, lastSig: c.lastSig }
    const now = Date.now()
    const rows: PaymentRecord[] = []
    if (listed) {
      let paid = c.paidSats
      listed.forEach((p, i) => {
        paid += p.sats
        const seq = c.seq + i + 1
        rows.push({ channelId: c.id, seq, sats: p.sats, paidSats: paid, sig: seq === req.seq ? req.sig : null, memo: p.memo ?? null, status: 'acked', createdAt: now })
      })
    } else {
      rows.push({ channelId: c.id, seq: req.seq, sats: verdict.amountSats, paidSats: req.paidSats, sig: req.sig, memo: req.memo ?? null, status: 'acked', createdAt: now })
    }
    c.seq = req.seq
    c.paidSats = req.paidSats
    c.lastSig = req.sig
    return { resent: false, c, before, rows, now }
  }

  async onSync(peerId: string, req: Req<'sync'>): Promise<ResultOf<'sync'>> {
    const c = this.own(peerId, req.channelId)
    if (c.state !== 'open' && c.state !== 'closing') throw new ChannelRefusal('unexpected', `the channel is ${c.state}`)
    // Only committed states count: wait for whatever is being committed.
    await this.c.book.commit.run(() => null)
    const now = this.c.book.get(c.id) ?? c
    return now.state === 'open' || now.state === 'closing' ? { seq: now.seq, paidSats: now.paidSats } : { seq: c.seq, paidSats: c.paidSats }
  }

  // ---- closing ----

  async onClose(peerId: string, req: Req<'close'>): Promise<ResultOf<'close'>> {
    return this.c.mailbox.run(req.channelId, async () => {
      const c = this.own(peerId, req.channelId)
      if (c.state === 'closing' && c.spend?.kind === 'settlement' && req.seq === c.seq && req.paidSats === c.paidSats) return { settlementTxid: c.spend.txid }
      if (c.state !== 'open') throw new ChannelRefusal('unexpected', `the channel is ${c.state}`)
      this.settling.add(c.id)
      try {
        await this.c.book.commit.run(() => null)
        const latest = this.c.book.get(c.id)
        if (!latest || latest.state !== 'open' || latest.role !== 'payee') throw new ChannelRefusal('unexpected', 'the channel changed')
        if (req.seq !== latest.seq || req.paidSats !== latest.paidSats) throw new ChannelRefusal('conflict', `the split differs from the latest stored settlement (seq ${latest.seq}, ${latest.paidSats} sat)`)
        return { settlementTxid: await this.settleNow(latest) }
      } finally {
        this.settling.delete(c.id)
      }
    })
  }

  /** closeChannel on our side: co-sign and broadcast the latest settlement. */
  settle(id: string): Promise<string> {
    return this.c.mailbox.run(id, () => this.settleHeld(id))
  }

  /** The same, by an operation that already holds the channel's mailbox (the chain watch before expiry). */
  async settleHeld(id: string): Promise<string> {
    const c = this.c.book.get(id)
    if (!c || c.role !== 'payee' || (c.state !== 'open' && c.state !== 'closing')) throw new ContractError('invalid_state', `the channel is ${c?.state ?? 'unknown'}`)
    this.settling.add(id)
    try {
      // Payments verified before this point may still be committing: settle the latest of them.
      await this.c.book.commit.run(() => null)
      return await this.settleNow(this.c.book.get(id) as PayeeOpen | PayeeClosing)
    } finally {
      this.settling.delete(id)
    }
  }

  private async settleNow(c: PayeeOpen | PayeeClosing): Promise<string> {
    if (c.seq === 0 || c.lastSig === null) throw new ContractError('invalid_state', 'nothing was paid: the payer’s refund returns the funds')
    const hex = this.c.tx.signedSettlement(c, c.paidSats, bytes(c.lastSig), this.c.keys.private(c.keyIndex))
    const { txid } = await this.c.broadcaster.broadcast(hex)
    await this.c.book.put({ ...c, state: 'closing', spend: { kind: 'settlement', txid } })
    this.c.log.info('channel settled', { channelId: c.id, txid, paidSats: c.paidSats })
    return txid
  }

  private address(text: string): string {
    try {
      return parseAddress(text, this.init.network).address
    } catch (err) {
      throw new ChannelRefusal('refused', `the payer address is not a valid ${this.init.network} address: ${(err as Error).message}`)
    }
  }
}

/** A record's terms, without what belongs to its state (so a new state is built whole). */
export function stripState<C extends ChannelRecord>(c: C): Terms {
  return {
    id: c.id, peerId: c.peerId, capacitySats: c.capacitySats, expiry: c.expiry, feeRate: c.feeRate, settlementFeeSats: c.settlementFeeSats,
    refundFeeSats: c.refundFeeSats, payerPub: c.payerPub, keyIndex: c.keyIndex, createdAt: c.createdAt, updatedAt: c.updatedAt,
  }
}
