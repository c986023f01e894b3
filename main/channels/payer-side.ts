// The payer's side: open (propose, bind the payee's key once, fund behind a refund the
// payee signed and we verified and stored), pay (signed states through a window), close
// (the payee's settlement checked on chain before it is believed). The payee's own frames
// (accept, reject) are a state machine too: unsolicited or repeated ones are refused.
import { randomBytes } from 'node:crypto'
import { ContractError } from '../../shared/contract/index.js'
import { BroadcastRejectedError, type ChainBroadcaster, type ChainLookup } from '../chain/index.js'
import type { Network } from '../config/index.js'
import type { Effect, IdempotencyScope } from '../idempotency/index.js'
import { PeerUnreachableError } from '../p2p/index.js'
import { isDiskFault } from '../store/index.js'
import type { Logger } from '../telemetry/index.js'
import { parseAddress } from '../wallet/index.js'
import type { ChannelBook } from './channel-book.js'
import type { PaymentRecord } from './channel-repository.js'
import type { ChannelKeys } from './channel-keys.js'
import type { ChannelMailbox } from './channel-mailbox.js'
import type { ChannelTx } from './channel-tx.js'
import type { ChainTip } from './chain-tip.js'
import { checkSettlement } from './chain-checks.js'
import { ChannelPeerError, ChannelRefusal, type ChannelLink, type ChannelRequest, type ResultOf } from './protocol.js'
import { type NewPayment, type OutgoingSettlement, PaymentPipeline } from './payment-pipeline.js'
import type { SignatureScheduler } from './signature-scheduler.js'
import { stripState } from './payee-side.js'
import type { BuiltFunding, FailureReason, PayerChannel, PayerClosing, PayerFunding, PayerFundingAccepted, PayerFundingBroadcast, PayerFundingBuilt, PayerFundingSigned, PayerOpen, PayerProposed } from './records.js'
import { validatePayment } from './state-machine.js'
import { buildFundingTx, p2pkhScript } from './transactions.js'
import { isCurvePoint, publicKeyOf } from './signer.js'
import { asContractError } from './wire-errors.js'

type Req<K extends ChannelRequest['t']> = Extract<ChannelRequest, { t: K }>

/** The chain's target spacing, for telling a person roughly when a block height comes. */
const MINUTES_PER_BLOCK = 10

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

/** What the payer needs of the wallet (WalletService has it). */
export interface PayerWallet {
  reserveForChannel(params: { capacitySats: number; feeRateSatsPerKb: number }): { reservationId: string; coins: { txid: string; vout: number; satoshis: number; privateKey: Uint8Array }[]; changeAddress: string }
  /** `rawHex`: the signed funding tx, where the wallet finds its change output. */
  completeChannelFunding(reservationId: string, tx: { txid: string; capacitySats: number; feeSats: number; changeSats: number; changeAddress: string; fundingAddress: string; rawHex?: string }): void
  releaseChannelFunding(reservationId: string): void
  /** Frees every channel-funding reservation but `held`; returns how many coins it freed. */
  releaseUnheldChannelFundings(held: readonly string[]): number
}

export interface PayerSideComponents {
  book: ChannelBook
  mailbox: ChannelMailbox
  keys: ChannelKeys
  tx: ChannelTx
  tip: ChainTip
  wallet: PayerWallet
  chain: { broadcaster: ChainBroadcaster; lookup: ChainLookup }
  /** A fresh payout address of the wallet, issued only when a channel is funded. */
  newPayoutAddress(): Promise<string>
  link(peerId: string): ChannelLink
  /** Connected, or reached within `timeoutMs`; rejects `unavailable` (PeerUnreachableError) otherwise. */
  reach(peerId: string, timeoutMs: number): Promise<void>
  /** The channel backup file holds what was just stored (awaited before a funding leaves). */
  secured(): Promise<void>
  /** A connection to the peer is open now. */
  connected(peerId: string): boolean
  ownPeerId(): string
  countPayment(sats: number): void
  /** Turns at signature work, shared with the payee side. */
  turns: SignatureScheduler
  /** One settlement signed (it may cover several payments). */
  countSettlement(): void
  /** The payee answered against the protocol (a lie this side caught): counted by kind. */
  violation(kind: PeerViolation): void
  log: Logger
}

type PeerViolation = 'payee-key' | 'refund-signature' | 'payout-address' | 'payment-refused' | 'sync' | 'close'

export interface PayerSideInit {
  network: Network
  feeRateSatsPerKb: number
  defaultExpiryBlocks: number
  closeMarginBlocks: number
  window: number
  payTimeoutMs: number
  /** How long reaching a payee that is not connected may take before a call answers `unavailable`. */
  reachTimeoutMs: number
  /** Callers waiting on one channel, and in all, past which a payment is refused `rate_limited`. */
  maxWaitingPayments: number
  maxWaitingPaymentsTotal: number
}

/** How long the note of an acknowledgement may wait for another write to join (recordAck). */
const ACK_RECORD_DELAY_MS = 50

export class PayerSide {
  private readonly pipelines = new Map<string, PaymentPipeline>()
  /** The latest signed state per channel (ahead of the acknowledged one while unacknowledged). */
  private readonly signed = new Map<string, { seq: number; paidSats: number }>()
  /** Channels being closed: no new payment may start. */
  private readonly draining = new Set<string>()
  /** The latest acknowledgement per channel not written yet (recordAck). */
  private readonly acksToRecord = new Map<string, { seq: number; paidSats: number }>()
  /** Callers of `pay` not answered yet, per channel and in all. */
  private readonly waiting = new Map<string, number>()
  private waitingTotal = 0

  constructor(
    private readonly c: PayerSideComponents,
    private readonly init: PayerSideInit,
  ) {}

  // ---- open ----

  async open(params: { peerId: string; capacitySats: number; expiry?: number; timeoutMs?: number }, scope: IdempotencyScope | null = null): Promise<PayerChannel> {
    if (params.peerId === this.c.ownPeerId()) throw new ContractError('invalid_params', 'a channel needs another peer', { field: 'peerId' })
    const fees = this.c.tx.fees(this.init.feeRateSatsPerKb)
    if (params.capacitySats <= fees.settlementFeeSats + fees.refundFeeSats + 1) throw new ContractError('invalid_params', 'the capacity does not cover the channel fees', { field: 'capacitySats' })
    // A peer that cannot be reached gets no channel record and locks no coins.
    const reachMs = Math.min(params.timeoutMs ?? this.init.reachTimeoutMs, this.init.reachTimeoutMs)
    try {
      await this.c.reach(params.peerId, reachMs)
    } catch (err) {
      throw unreachableForOpen(err, params.peerId, reachMs, this.c.log)
    }
    const height = await this.c.tip.height()
    const expiry = params.expiry ?? height + this.init.defaultExpiryBlocks
    if (expiry <= height + this.init.closeMarginBlocks) throw new ContractError('invalid_params', `expiry must be above height ${height + this.init.closeMarginBlocks}`, { field: 'expiry' })
    const id = randomBytes(16).toString('hex')
    return this.c.mailbox.run(id, async () => {
      // The key index is taken synchronously: concurrent opens never share one.
      const keyIndex = this.c.book.allocateKey()
      const now = Date.now()
      const proposed: PayerProposed = {
        id, peerId: params.peerId, role: 'payer', state: 'proposed', step: 'awaiting-answer', capacitySats: params.capacitySats, expiry, feeRate: this.init.feeRateSatsPerKb,
        settlementFeeSats: fees.settlementFeeSats, refundFeeSats: fees.refundFeeSats, payerPub: this.c.keys.publicHex(keyIndex), keyIndex, createdAt: now, updatedAt: now,
      }
      await this.c.book.insert(proposed, scope ? () => scope.bind({ kind: 'channel', channelId: id }) : undefined)
      let answer: ResultOf<'propose'>
      try {
        answer = await this.c.link(params.peerId).request({
          t: 'propose', channelId: id, capacitySats: proposed.capacitySats, expiry, feeRate: proposed.feeRate, settlementFeeSats: proposed.settlementFeeSats,
          refundFeeSats: proposed.refundFeeSats, payerPub: proposed.payerPub,
        })
      } catch (err) {
        await this.fail(proposed, err instanceof ChannelPeerError && !err.retryable ? 'peer-refused' : 'peer-unreachable')
        throw asContractError(err)
      }
      if (answer.decision === 'pending') return (await this.c.book.put({ ...proposed, step: 'awaiting-accept' })) as PayerChannel
      await this.bind(proposed, answer.payeePub)
      await this.fundNow(id)
      return this.c.book.get(id) as PayerChannel
    })
  }

  /** The payee's key, bound once (persisted before anything is built on it); a second, different one is refused. */
  private async bind(c: PayerProposed, payeePub: string): Promise<PayerFundingAccepted> {
    // Coins locked to a key that is no curve point, or to our own, could never come back.
    if (payeePub === c.payerPub || !isCurvePoint(bytes(payeePub))) {
      this.c.violation('payee-key')
      await this.fail(c, 'peer-refused')
      throw new ContractError('rejected', 'the peer answered with an unusable key')
    }
    return (await this.c.book.put({ ...stripState(c), role: 'payer', state: 'funding', step: 'accepted', payeePub })) as PayerFundingAccepted
  }

  /** `accept` is expected only for a proposal the payee answered `pending`, and only once. */
  async onAccept(peerId: string, req: Req<'accept'>): Promise<ResultOf<'accept'>> {
    await this.c.mailbox.run(req.channelId, async () => {
      const c = this.own(peerId, req.channelId)
      if (c.state !== 'proposed' || c.step !== 'awaiting-accept') throw new ChannelRefusal('unexpected', c.state === 'proposed' ? 'the proposal has not been answered yet' : `the channel is ${c.state}`)
      await this.bind(c, req.payeePub)
    })
    // Funded in its own turn, after this answer: the payee's signRefund must not wait behind it.
    this.c.mailbox.run(req.channelId, () => this.fundNow(req.channelId)).catch((err: unknown) => this.c.log.warn('channel funding failed', { err, channelId: req.channelId }))
    return {}
  }

  async onReject(peerId: string, req: Req<'reject'>): Promise<ResultOf<'reject'>> {
    await this.c.mailbox.run(req.channelId, async () => {
      const c = this.own(peerId, req.channelId)
      if (c.state !== 'proposed') throw new ChannelRefusal('unexpected', `the channel is ${c.state}`)
      await this.c.book.put({ ...stripState(c), role: 'payer', state: 'rejected', payeePub: null })
    })
    return {}
  }

  /**
   * Build the funding tx, get the refund signed, verify and store it, and only then
   * broadcast. Runs in the channel's mailbox. Until the refund is stored nothing may leave;
   * once it is, the channel never fails quietly (the chain watch carries it to open or refund).
   */
  private async fundNow(id: string): Promise<void> {
    const start = this.c.book.get(id)
    if (!start || start.role !== 'payer' || start.state !== 'funding' || start.step !== 'accepted') return
    let reservation
    try {
      reservation = this.c.wallet.reserveForChannel({ capacitySats: start.capacitySats, feeRateSatsPerKb: start.feeRate })
    } catch (err) {
      await this.fail(start, 'insufficient-funds')
      throw err
    }
    let made: { c: PayerFundingBuilt; built: BuiltFunding; feeSats: number; changeSats: number }
    try {
      const payerAddress = await this.c.newPayoutAddress()
      const funding = buildFundingTx({
        utxos: reservation.coins.map((u) => ({ ...u, lockingScript: p2pkhScript(publicKeyOf(u.privateKey)) })),
        capacity: start.capacitySats, payerPub: bytes(start.payerPub), payeePub: bytes(start.payeePub), change: reservation.changeAddress, feeRateSatsPerKb: start.feeRate,
        backend: this.c.keys.backend,
      })
      const built: BuiltFunding = { outpoint: { txid: funding.txid, vout: funding.vout }, hex: funding.tx.toHex(), payerAddress, reservationId: reservation.reservationId }
      const c = (await this.c.book.put({ ...start, step: 'built', built })) as PayerFundingBuilt
      made = { c, built, feeSats: funding.feeSats, changeSats: funding.changeSats }
    } catch (err) {
      this.c.wallet.releaseChannelFunding(reservation.reservationId)
      await this.fail(start, 'insufficient-funds')
      throw err
    }
    const { c, built, feeSats, changeSats } = made
    let sig: string
    try {
      sig = (await this.c.link(c.peerId).request({ t: 'signRefund', channelId: c.id, fundingTxid: built.outpoint.txid, fundingVout: built.outpoint.vout, payerAddress: built.payerAddress })).sig
      if (!this.c.tx.verifyRefund({ ...c, funding: built.outpoint, payerAddress: built.payerAddress }, bytes(sig))) {
        this.c.violation('refund-signature')
        throw new ChannelPeerError('bad_signature', 'the refund signature does not verify')
      }
    } catch (err) {
      this.c.wallet.releaseChannelFunding(reservation.reservationId)
      await this.fail(c, err instanceof ChannelPeerError && err.retryable ? 'peer-unreachable' : 'peer-refused')
      throw asContractError(err)
    }
    // The refund is safe on disk before any coin moves into the 2-of-2.
    const signed = (await this.c.book.put({ ...c, step: 'refund-signed', built, refundPayeeSig: sig })) as PayerFundingSigned
    // And in the channel backup file: a lost disk then costs nothing but the wait for expiry.
    await this.c.secured()
    try {
      const { txid } = await this.c.chain.broadcaster.broadcast(built.hex)
      if (txid !== built.outpoint.txid) throw new Error(`the chain answered with txid ${txid}, expected ${built.outpoint.txid}`)
    } catch (err) {
      if (err instanceof BroadcastRejectedError) {
        // Refused outright: nothing is on chain, the coins are free again.
        this.c.wallet.releaseChannelFunding(reservation.reservationId)
        await this.fail(signed, 'funding-lost')
        throw asContractError(err)
      }
      // The answer was lost: the tx may be out. The chain watch sends it again and carries on.
      this.c.log.warn('funding broadcast unconfirmed; the chain watch retries it', { err, channelId: id })
      return
    }
    this.c.wallet.completeChannelFunding(reservation.reservationId, {
      txid: built.outpoint.txid, capacitySats: c.capacitySats, feeSats, changeSats, changeAddress: reservation.changeAddress, fundingAddress: `channel:${c.id}`, rawHex: built.hex,
    })
    const broadcast = (await this.c.book.put({ ...signed, step: 'broadcast', built: { ...built, reservationId: null } })) as PayerFundingBroadcast
    await this.askOpen(broadcast).catch((err: unknown) => this.c.log.debug('the payee did not open yet; asked again later', { err, channelId: id }))
  }

  /** The chain has the funding: its coins are spent (the change is the wallet's), the channel waits for the payee. */
  async fundingSeen(c: PayerFundingSigned): Promise<void> {
    const reservationId = c.built.reservationId
    if (reservationId) {
      // The fee and change are found by the wallet's next sync (the inputs' amounts are the wallet's).
      this.c.wallet.completeChannelFunding(reservationId, { txid: c.built.outpoint.txid, capacitySats: c.capacitySats, feeSats: 0, changeSats: 0, changeAddress: '', fundingAddress: `channel:${c.id}` })
    }
    await this.c.book.put({ ...c, step: 'broadcast', built: { ...c.built, reservationId: null } })
  }

  /** Ask the payee to open: it verifies the funding on chain itself and gives its payout address. */
  async askOpen(c: PayerFundingBroadcast): Promise<void> {
    const answer = await this.c.link(c.peerId).request({ t: 'funded', channelId: c.id, fundingTxid: c.built.outpoint.txid, fundingVout: c.built.outpoint.vout })
    if (answer.state === 'waiting') {
      this.c.book.setConfirmations(c.id, answer.confirmations, answer.required)
      return
    }
    let payeeAddress: string
    try {
      payeeAddress = parseAddress(answer.payeeAddress, this.init.network).address
    } catch (err) {
      this.c.violation('payout-address')
      this.c.book.setProblem(c.id, 'peer-misbehaved', 'the peer gave a payout address that is not valid on this network')
      throw new ContractError('rejected', `the peer's payout address is not valid: ${(err as Error).message}`)
    }
    const open: PayerOpen = {
      ...stripState(c), role: 'payer', state: 'open', payeePub: c.payeePub, payerAddress: c.built.payerAddress, payeeAddress, funding: c.built.outpoint,
      fundingHex: c.built.hex, fundingHeight: null, seq: 0, paidSats: 0, refundPayeeSig: c.refundPayeeSig,
    }
    await this.c.book.put(open)
    this.c.log.info('channel open', { channelId: c.id, role: 'payer', capacitySats: c.capacitySats })
  }

  async fail(c: PayerChannel, failure: FailureReason): Promise<void> {
    const payeePub = c.state === 'proposed' ? null : c.payeePub
    const fundingTxid = c.state === 'funding' && c.step !== 'accepted' ? c.built.outpoint.txid : null
    await this.c.book.put({ ...stripState(c), role: 'payer', state: 'failed', failure, payeePub, fundingTxid })
  }

  // ---- pay ----

  async pay(params: { channelId: string; sats: number; memo?: string; timeoutMs?: number }, scope: IdempotencyScope | null = null): Promise<{ channelId: string; seq: number; paidSats: number }> {
    const found = this.c.book.get(params.channelId)
    if (!found || found.role !== 'payer') {
      const ended = this.c.book.find(params.channelId)
      if (!ended) throw new ContractError('not_found', 'no such channel')
      throw new ContractError('invalid_state', ended.role === 'payer' ? `the channel is ${ended.state}` : 'only the payer pays through a channel')
    }
    const here = this.waiting.get(found.id) ?? 0
    if (here >= this.init.maxWaitingPayments || this.waitingTotal >= this.init.maxWaitingPaymentsTotal) {
      const onChannel = here >= this.init.maxWaitingPayments
      throw new ContractError(
        'rate_limited',
        `${onChannel ? `${here} payments on this channel` : `${this.waitingTotal} payments in all`} already wait for their acknowledgement (the most that may); pay again once some are answered`,
        { retryAfterMs: 1000, waiting: onChannel ? here : this.waitingTotal },
      )
    }
    this.waiting.set(found.id, here + 1)
    this.waitingTotal++
    // One async frame per waiting payment, not a wrapper around another: each suspended
    // frame costs a few hundred bytes, and tens of thousands may wait at once.
    try {
      const timeoutMs = params.timeoutMs ?? this.init.payTimeoutMs
      // Nothing is signed for a payee that cannot be reached now: the caller hears so within
      // the dial (a refused port: milliseconds), and may pay again later. A settlement of this
      // channel on the wire over a live link already shows it reachable (a link that fails
      // under it answers its callers at once), and probing per payment would cost more than
      // the payment under load.
      if (!this.pipelines.get(found.id)?.linkInUse) await this.c.reach(found.peerId, Math.min(timeoutMs, this.init.reachTimeoutMs))
      // Read again after the wait: the channel may have moved on meanwhile.
      const c = this.c.book.get(params.channelId)
      if (!c || c.role !== 'payer') throw new ContractError('invalid_state', `the channel is ${this.c.book.find(params.channelId)?.state ?? 'gone'}`)
      if (c.state !== 'open') throw new ContractError('invalid_state', `the channel is ${c.state}`)
      if (this.draining.has(c.id)) throw new ContractError('invalid_state', 'the channel is closing')
      const halted = this.pipelines.get(c.id)?.halted
      if (halted) throw new ContractError('invalid_state', `payments on this channel are stopped: ${halted.message}. Close it.`)
      const height = this.c.tip.latest
      if (height !== null && height >= c.expiry - this.init.closeMarginBlocks) throw new ContractError('invalid_state', 'the channel is too close to its expiry for payments; close it')
      const last = this.signed.get(c.id) ?? this.latestSigned(c)
      const newPaid = last.paidSats + params.sats
      const verdict = validatePayment({ capacity: c.capacitySats, paidSats: last.paidSats, newPaidSats: newPaid, seq: last.seq, newSeq: last.seq + 1, feeSats: c.settlementFeeSats })
      if (!verdict.ok) throw new ContractError(verdict.code === 'exceeds-capacity' ? 'insufficient_funds' : 'invalid_params', verdict.message, { reason: verdict.code })
      const seq = last.seq + 1
      // Reserved now, in call order; signed by the pipeline, alone or with the payments queued
      // beside it (one settlement for all), and on disk before that signature leaves.
      this.signed.set(c.id, { seq, paidSats: newPaid })
      try {
        await this.pipeline(c).pay(
          { seq, paidSats: newPaid, sats: params.sats, createdAt: Date.now(), ...(params.memo === undefined ? {} : { memo: params.memo }), ...(scope ? { bind: () => scope.bind({ kind: 'payment', channelId: c.id, seq }) } : {}) },
          timeoutMs,
        )
      } catch (err) {
        throw asContractError(err)
      }
      this.c.countPayment(params.sats)
      return { channelId: c.id, seq, paidSats: newPaid }
    } finally {
      this.waitingTotal--
      const left = (this.waiting.get(found.id) ?? 1) - 1
      if (left > 0) this.waiting.set(found.id, left)
      else this.waiting.delete(found.id)
    }
  }

  /**
   * A keyed pay's retry: the payment its first attempt signed and sent, followed to its
   * acknowledgement (a state already acknowledged answers at once); never another signature.
   */
  async followPayment(effect: Extract<Effect, { kind: 'payment' }>, timeoutMs = this.init.payTimeoutMs): Promise<{ channelId: string; seq: number; paidSats: number }> {
    const { channelId, seq } = effect
    const row = this.c.book.repo.payment(channelId, seq)
    if (!row) throw new ContractError('internal', `the payment this key recorded (state ${seq}) is missing`)
    const answer = { channelId, seq, paidSats: row.paidSats }
    const c = this.c.book.find(channelId)
    if (row.status === 'acked' || (c && c.role === 'payer' && (c.state === 'open' || c.state === 'closing' || c.state === 'closed') && c.seq >= seq)) return answer
    if (c && c.role === 'payer' && c.state === 'open') {
      await this.pipeline(c).ackedThrough(seq, timeoutMs)
      return answer
    }
    throw new ContractError('invalid_state', `payment ${seq} was signed and sent, but the channel is ${c?.state ?? 'gone'} and the payee never acknowledged it; the close settles the latest state the payee holds`, { channelId, seq })
  }

  /**
   * One signature for the last payment of `batch` (the cumulative amount covering them all),
   * and a row per payment, stored in one transaction before the signature may leave.
   */
  private async seal(id: string, batch: readonly NewPayment[]): Promise<OutgoingSettlement> {
    const c = this.c.book.get(id)
    if (!c || c.role !== 'payer' || c.state !== 'open') throw new ContractError('invalid_state', `the channel is ${c?.state ?? 'gone'}`)
    const last = batch[batch.length - 1]!
    const sig = hex(this.c.tx.settlement(c).sign(last.paidSats, this.c.keys.private(c.keyIndex), this.c.keys.backend))
    try {
      await this.c.book.commit.run(() => {
        for (const p of batch) {
          // Only the last row holds the signature: the amounts before it are covered, not signed.
          this.c.book.repo.insertSent({ channelId: id, seq: p.seq, sats: p.sats, paidSats: p.paidSats, sig: p === last ? sig : null, memo: p.memo ?? null, status: 'sent', createdAt: p.createdAt })
          p.bind?.()
        }
      })
    } catch (err) {
      if (isDiskFault(err)) throw new ContractError('unavailable', 'the disk refuses writes, so this payment was not made (nothing was sent); try again once it takes writes', { reason: 'disk' })
      throw err
    }
    this.c.countSettlement()
    return settlementOf(last.seq, last.paidSats, sig, batch)
  }

  /**
   * Notes on disk that the payee acknowledged up to `seq`, joining the next write's commit
   * (at most ACK_RECORD_DELAY_MS later) rather than costing a commit of its own per ack: a
   * note lost in a crash costs nothing, since the payee holds the state and the next
   * reconcile learns it again. Acks come in order, so only a channel's latest is written.
   */
  private recordAck(id: string, seq: number, paidSats: number): void {
    const queued = this.acksToRecord.has(id)
    this.acksToRecord.set(id, { seq, paidSats })
    if (queued) return
    this.c.book.commit.later(
      () => {
        const ack = this.acksToRecord.get(id)
        this.acksToRecord.delete(id)
        if (ack) this.c.book.repo.markAcked(id, ack.seq, ack.paidSats, Date.now())
      },
      (err) => {
        if (err) this.c.log.error('could not record an acknowledged payment', { err, channelId: id })
        else this.c.book.emitSoon(id)
      },
      ACK_RECORD_DELAY_MS,
    )
  }

  /** After a restart: unacknowledged settlements go out again once the payee says what it holds. */
  resume(c: PayerOpen): void {
    const latest = this.c.book.repo.latestPayment(c.id)
    if (!latest || latest.seq <= c.seq) return
    const pipeline = this.pipeline(c)
    let covered: PaymentRecord[] = []
    for (const p of this.c.book.repo.payments(c.id, latest.seq - c.seq).reverse()) {
      if (p.status !== 'sent') {
        covered = []
        continue
      }
      covered.push(p)
      if (p.sig === null) continue
      pipeline.resend(settlementOf(p.seq, p.paidSats, p.sig, covered.map((r) => ({ sats: r.sats, ...(r.memo === null ? {} : { memo: r.memo }) }))))
      covered = []
    }
    pipeline.reconcile()
  }

  /** The peer is reachable again: its channels' unacknowledged states go out now. */
  kick(peerId: string): void {
    for (const [id, p] of this.pipelines) if (this.c.book.get(id)?.peerId === peerId) p.kick()
  }

  private latestSigned(c: PayerOpen): { seq: number; paidSats: number } {
    const latest = this.c.book.repo.latestPayment(c.id)
    return latest && latest.seq > c.seq ? { seq: latest.seq, paidSats: latest.paidSats } : { seq: c.seq, paidSats: c.paidSats }
  }

  /** (seq, paidSats) is a state this wallet signed on this channel, or the opening one (a payment a later settlement covers is not). */
  private signedByUs(id: string, s: { seq: number; paidSats: number }): boolean {
    if (s.seq === 0) return s.paidSats === 0
    const row = this.c.book.repo.payment(id, s.seq)
    return row !== null && row.sig !== null && row.paidSats === s.paidSats
  }

  private pipeline(c: PayerOpen): PaymentPipeline {
    let p = this.pipelines.get(c.id)
    if (!p) {
      const id = c.id
      const link = (): ChannelLink => this.c.link(c.peerId)
      p = new PaymentPipeline(
        {
          window: this.init.window,
          payTimeoutMs: this.init.payTimeoutMs,
          logger: this.c.log,
          seal: (batch) => this.seal(id, batch),
          turn: (work) => this.c.turns.turn(work),
          rewind: (tip) => {
            if (tip) this.signed.set(id, tip)
            else this.signed.delete(id)
          },
          send: async (s) => {
            const { seq } = await link().request({ t: 'pay', channelId: id, seq: s.seq, paidSats: s.paidSats, sig: s.sig, ...(s.memo === undefined ? {} : { memo: s.memo }), ...(s.payments ? { payments: s.payments } : {}) })
            if (seq !== s.seq) throw new ChannelPeerError('conflict', `the payee acknowledged state ${seq} for state ${s.seq}`)
          },
          sync: () => link().request({ t: 'sync', channelId: id }),
          away: () => !this.c.connected(c.peerId),
          signedByUs: (s) => this.signedByUs(id, s),
          acked: (seq, paidSats) => {
            const now = this.c.book.get(id)
            if (now && now.role === 'payer' && (now.state === 'open' || now.state === 'closing')) {
              now.seq = Math.max(now.seq, seq)
              now.paidSats = Math.max(now.paidSats, paidSats)
            }
            this.recordAck(id, seq, paidSats)
          },
          halted: (err) => {
            this.c.violation(err instanceof ContractError && err.code === 'rejected' ? 'sync' : 'payment-refused')
            this.c.log.warn('payments on a channel stopped: the payee refused or misreported a state', { channelId: id, err })
            this.c.book.setProblem(id, 'peer-misbehaved', `payments stopped: ${err.message}`)
          },
        },
        c.seq,
      )
      this.pipelines.set(c.id, p)
    }
    return p
  }

  // ---- close ----

  /** closeChannel: withdraw an unfunded proposal, or ask the payee to settle an open channel. */
  async close(id: string, timeoutMs?: number): Promise<void> {
    await this.c.mailbox.run(id, async () => {
      const c = this.c.book.get(id)
      if (!c || c.role !== 'payer') throw new ContractError('invalid_state', `the channel is ${this.c.book.find(id)?.state ?? 'unknown'}`)
      switch (c.state) {
        case 'proposed':
          await this.fail(c, 'cancelled')
          return
        case 'funding':
          if (c.step === 'accepted' || c.step === 'built') {
            if (c.step === 'built' && c.built.reservationId) this.c.wallet.releaseChannelFunding(c.built.reservationId)
            await this.fail(c, 'cancelled')
            return
          }
          throw new ContractError('invalid_state', `the funding may already be on chain: if the peer never opens the channel, the refund returns the coins at block ${c.expiry}`)
        case 'open':
          await this.reachForClose(c, timeoutMs)
          await this.closeOpen(c, timeoutMs)
          return
        default:
          throw new ContractError('invalid_state', `the channel is ${c.state}`)
      }
    })
  }

  /**
   * Only the payee can settle: one that cannot be reached is reported at once, with what
   * the payer can do instead (close again when it is back, or wait for the refund height).
   */
  private async reachForClose(c: PayerOpen, timeoutMs: number | undefined): Promise<void> {
    try {
      await this.c.reach(c.peerId, Math.min(timeoutMs ?? this.init.reachTimeoutMs, this.init.reachTimeoutMs))
    } catch (err) {
      const e = asContractError(err)
      if (!(e instanceof ContractError) || e.code !== 'unavailable') throw e
      const height = this.c.tip.latest
      const blocksLeft = height === null ? null : Math.max(0, c.expiry - height)
      const hoursLeft = blocksLeft === null ? null : Math.ceil((blocksLeft * MINUTES_PER_BLOCK) / 60)
      const when = blocksLeft === null ? `from block ${c.expiry}` : blocksLeft === 0 ? `now (block ${c.expiry} is reached)` : `from block ${c.expiry}, in about ${hoursLeft} hour${hoursLeft === 1 ? '' : 's'}`
      throw new ContractError(
        'unavailable',
        `the payee cannot be reached (${e.message.replace(/^the peer cannot be reached right now: /, '')}); only it can settle the channel. Close again when it is back, or the refund returns your unpaid coins ${when}, unless the payee settles first.`,
        { peerId: c.peerId, refundHeight: c.expiry, blocksLeft, hoursLeft },
      )
    }
  }

  private async closeOpen(c: PayerOpen, timeoutMs?: number): Promise<void> {
    this.draining.add(c.id)
    let closing = false
    try {
      await this.pipelines.get(c.id)?.idle(timeoutMs ?? this.init.payTimeoutMs)
      // What the payee holds must be a state we signed: it settles that one.
      const remote = await this.c.link(c.peerId).request({ t: 'sync', channelId: c.id })
      const latest = this.c.book.get(c.id) as PayerOpen
      if (!this.signedByUs(c.id, remote)) {
        closing = true
        await this.toClosing(latest, null, `the payee claims state ${remote.seq} (${remote.paidSats} sat), which this wallet never signed`)
        throw new ContractError('rejected', `the payee claims a state this wallet never signed; the refund returns the unpaid coins at block ${c.expiry}`)
      }
      if (remote.seq > latest.seq) {
        latest.seq = remote.seq
        latest.paidSats = remote.paidSats
        await this.c.book.commit.run(() => this.c.book.repo.markAcked(c.id, remote.seq, remote.paidSats, Date.now()))
      }
      if (remote.seq === 0) {
        // Nothing to settle: the refund returns everything at expiry.
        closing = true
        await this.toClosing(latest, null)
        return
      }
      const { settlementTxid } = await this.c.link(c.peerId).request({ t: 'close', channelId: c.id, seq: remote.seq, paidSats: remote.paidSats })
      closing = true
      // Believed only once the chain holds it and it is a settlement we signed.
      const raw = await this.c.chain.lookup.rawTx(settlementTxid).catch(() => null)
      const check = raw === null ? { ok: false as const, why: 'the chain service does not know it (yet)' } : checkSettlement(raw, settlementTxid, { ...latest, payeeAddress: latest.payeeAddress }, (paid) => this.c.book.repo.paymentPaying(c.id, paid) !== null)
      if (!check.ok) {
        await this.toClosing(latest, null, `the peer answered the close with ${settlementTxid}: ${check.why}`)
        throw new ContractError('rejected', `the peer's settlement does not hold (${check.why}); the chain watch follows the funding, and the refund returns the unpaid coins at block ${c.expiry}`)
      }
      await this.toClosing(latest, settlementTxid, undefined, check.paidSats)
    } catch (err) {
      if (!closing) throw asContractError(err)
      throw err
    } finally {
      this.draining.delete(c.id)
    }
  }

  private async toClosing(c: PayerOpen, settlementTxid: string | null, problem?: string, settledPaid?: number): Promise<void> {
    this.pipelines.get(c.id)?.stop()
    this.pipelines.delete(c.id)
    if (problem) {
      this.c.violation('close')
      this.c.log.warn('the payee misreported a close', { channelId: c.id, problem })
      this.c.book.setProblem(c.id, 'peer-misbehaved', problem)
    }
    const next: PayerClosing = { ...c, state: 'closing', spend: settlementTxid ? { kind: 'settlement', txid: settlementTxid } : null }
    if (settledPaid !== undefined && settledPaid !== c.paidSats) {
      // The settlement on chain pays a state we signed but the payee had not acknowledged.
      next.paidSats = settledPaid
      next.seq = this.c.book.repo.paymentPaying(c.id, settledPaid)?.seq ?? c.seq
    }
    await this.c.book.put(next)
  }

  // ---- chain effects ----

  /** The refund, valid from the expiry height: the payer's way out whatever the payee does. */
  async refund(c: PayerFunding | PayerOpen | PayerClosing): Promise<string> {
    const terms = c.state === 'funding' ? (c.step === 'refund-signed' || c.step === 'broadcast' ? { funding: c.built.outpoint, payerAddress: c.built.payerAddress, sig: c.refundPayeeSig } : null) : { funding: c.funding, payerAddress: c.payerAddress, sig: c.refundPayeeSig }
    if (!terms) throw new ContractError('invalid_state', 'no refund is signed for this channel')
    const hexTx = this.c.tx.signedRefund({ ...c, funding: terms.funding, payerAddress: terms.payerAddress }, bytes(terms.sig), this.c.keys.private(c.keyIndex))
    const { txid } = await this.c.chain.broadcaster.broadcast(hexTx)
    this.c.log.info('refund broadcast', { channelId: c.id, txid })
    return txid
  }

  stop(): void {
    for (const p of this.pipelines.values()) p.stop()
    this.pipelines.clear()
    this.signed.clear()
    this.draining.clear()
  }

  /** A channel that ended needs none of its hot-path state. */
  forget(id: string): void {
    this.pipelines.get(id)?.stop()
    this.pipelines.delete(id)
    this.signed.delete(id)
  }

  private own(peerId: string, id: string): PayerChannel {
    const c = this.c.book.owned(peerId, id, 'payer')
    if (!c) throw new ChannelRefusal('unknown_channel', 'no such channel with this peer')
    if (c === 'wrong-role') throw new ChannelRefusal('unexpected', 'we are paid in this channel; only the payer is sent this')
    return c as PayerChannel
  }
}

/** The frame for a settlement: one payment as protocol 2.0.0 always sent it, several as a list. */
function settlementOf(seq: number, paidSats: number, sig: string, payments: readonly { sats: number; memo?: string }[]): OutgoingSettlement {
  if (payments.length === 1) {
    const memo = payments[0]!.memo
    return { seq, paidSats, sig, ...(memo === undefined ? {} : { memo }) }
  }
  return { seq, paidSats, sig, payments: payments.map((p) => ({ sats: p.sats, ...(p.memo === undefined ? {} : { memo: p.memo }) })) }
}

/**
 * The refusal of an open whose payee cannot be reached, in words a person can act on;
 * libp2p's own text (addresses, dial errors) goes to the details and the log.
 */
function unreachableForOpen(err: unknown, peerId: string, reachMs: number, log: Logger): unknown {
  if (!(err instanceof PeerUnreachableError)) return err
  log.info('channel not opened: the peer cannot be reached', { peerId, reason: err.reason })
  const seconds = Math.max(1, Math.round(reachMs / 1000))
  return new ContractError(
    'unavailable',
    `That peer could not be reached: it is not connected and did not answer within ${seconds} s. Check that it is online (or connect to it from Peers) and try again. No channel was made and no coins were locked.`,
    { peerId, reachable: false, reason: err.reason },
  )
}
