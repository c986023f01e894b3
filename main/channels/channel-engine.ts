// The channel engine: opens, pays through, closes and recovers Spilman payment channels
// (see DESIGN.md "Payment channels"). The payer's side lives here; the payee's answers to
// a peer's requests are in payee-side.ts. Every state change is committed before anything
// (an acknowledgement, a signature, a broadcast) leaves the process, then emitted.
import { randomBytes } from 'node:crypto'
import type { Transaction } from '@bsv/sdk'
import { type Channel, type ChannelPayment, ContractError } from '../../shared/contract/index.js'
import { BroadcastRejectedError, type ChainBroadcaster, type ChainLookup } from '../chain/chain.js'
import type { EventBus } from '../engine/event-bus.js'
import { Disposables, type Startable } from '../lifecycle/index.js'
import type { Libp2pNode } from '../p2p/libp2p.js'
import type { Store } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { type ChannelRecord, ChannelRepository, toChannel, toPayment } from './channel-repository.js'
import { GroupCommit } from '../store/index.js'
import { ChainWatch } from './chain-watch.js'
import { PayeeSide } from './payee-side.js'
import { PaymentPipeline } from './payment-pipeline.js'
import { CHANNEL_PROTOCOL, ChannelLink, ChannelPeerError, type ChannelRequest, serveChannelStream } from './protocol.js'
import { type BackendName, type SignatureBackend, publicKeyOf, selectBackend } from './signer.js'
import { CHANNEL_STATUSES, type ChannelEvent, type ChannelStatus, isTerminal, transition, validatePayment } from './state-machine.js'
import {
  SettlementSighasher, buildFundingTx, buildRefundTx, buildSettlementTx, channelFees, fundingOutputScript, p2pkhScript,
  verifyInputSignature,
} from './transactions.js'
import type { SourceOutput } from './transactions.js'

/** What the engine needs of the wallet (WalletService has it). */
export interface ChannelWallet {
  readonly ready: boolean
  channelPrivateKey(index: number): Uint8Array
  newAddress(): Promise<{ address: string }>
  reserveForChannel(params: { capacitySats: number; feeRateSatsPerKb: number }): { reservationId: string; coins: { txid: string; vout: number; satoshis: number; privateKey: Uint8Array }[]; changeAddress: string }
  completeChannelFunding(reservationId: string, tx: { txid: string; capacitySats: number; feeSats: number; changeSats: number; changeAddress: string; fundingAddress: string }): void
  releaseChannelFunding(reservationId: string): void
}

export interface ChannelEngineComponents {
  store: Store
  logger: Logger
  metrics: Metrics
  events: EventBus
  node: { readonly libp2p: Libp2pNode }
  wallet: ChannelWallet
  chain: { broadcaster: ChainBroadcaster; lookup: ChainLookup }
}

export interface ChannelEngineInit {
  policy?: {
    /** Incoming channels up to this capacity are accepted at once; larger ones wait for acceptChannel (default 10,000,000 sat). */
    autoAcceptMaxSats?: number
  }
  /** Confirmations of the funding tx before a channel is open (default 0). */
  confirmations?: number
  /** Expiry of a new channel, in blocks from now (default 144). */
  defaultExpiryBlocks?: number
  /** The payee settles this many blocks before expiry (default 6). */
  closeMarginBlocks?: number
  feeRateSatsPerKb?: number
  /** Signed states in flight per channel (default 32). */
  window?: number
  requestTimeoutMs?: number
  payTimeoutMs?: number
  /** How often channels are checked against the chain (default 5 s). */
  chainPollMs?: number
  backend?: BackendName
}

type Resolved = Required<Omit<ChannelEngineInit, 'policy' | 'backend'>> & { autoAcceptMaxSats: number }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

export class ChannelEngine implements Startable {
  readonly repo: ChannelRepository
  readonly backend: SignatureBackend
  readonly opts: Resolved
  readonly commit: GroupCommit
  /**
   * Live channels (not yet in a terminal state), the ones the hot path and the chain watch
   * work on. Ended channels live only on disk, so a node that opens and closes channels for
   * months does not hold every one of them in memory.
   */
  readonly channels = new Map<string, ChannelRecord>()
  private readonly links = new Map<string, ChannelLink>()
  private readonly pipelines = new Map<string, PaymentPipeline>()
  /** Payer: the latest signed state per channel (ahead of `seq` while unacknowledged). */
  private readonly signed = new Map<string, { seq: number; paidSats: number }>()
  private readonly keys = new Map<number, Uint8Array>()
  /** Channels whose funding is under way in this process. */
  readonly funding = new Set<string>()
  private readonly sources = new Map<string, SourceOutput>()
  private readonly sighashers = new Map<string, SettlementSighasher>()
  readonly payee: PayeeSide
  private readonly watch: ChainWatch
  private disposables = new Disposables()
  private running = false
  readonly log: Logger
  private readonly m

  constructor(
    readonly components: ChannelEngineComponents,
    init: ChannelEngineInit = {},
  ) {
    this.opts = {
      autoAcceptMaxSats: init.policy?.autoAcceptMaxSats ?? 10_000_000,
      confirmations: init.confirmations ?? 0,
      defaultExpiryBlocks: init.defaultExpiryBlocks ?? 144,
      closeMarginBlocks: init.closeMarginBlocks ?? 6,
      feeRateSatsPerKb: init.feeRateSatsPerKb ?? 100,
      window: init.window ?? 32,
      requestTimeoutMs: init.requestTimeoutMs ?? 10_000,
      payTimeoutMs: init.payTimeoutMs ?? 30_000,
      chainPollMs: init.chainPollMs ?? 5_000,
    }
    this.backend = selectBackend(init.backend)
    this.repo = new ChannelRepository(components.store)
    this.commit = new GroupCommit(components.store)
    this.log = components.logger
    const metrics = components.metrics
    this.m = {
      payments: metrics.counter({ name: 'channel_payments_total', help: 'Channel payments by role', labelNames: ['role'] }),
      sats: metrics.counter({ name: 'channel_payment_sats_total', help: 'Satoshis paid through channels, by role', labelNames: ['role'] }),
      states: metrics.gauge({ name: 'channels', help: 'Channels by state', labelNames: ['state'] }),
      refused: metrics.counter({ name: 'channel_refused_total', help: 'Channel requests refused, by code', labelNames: ['code'] }),
    }
    this.payee = new PayeeSide(this)
    this.watch = new ChainWatch(this)
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    this.channels.clear()
    for (const c of this.repo.all()) if (!isTerminal(c.state)) this.channels.set(c.id, c)
    const libp2p = this.components.node.libp2p
    await libp2p.handle(CHANNEL_PROTOCOL, (stream, connection) => serveChannelStream(stream, connection, (peerId, req) => this.onRequest(peerId, req), (peerId, why) => this.refusedCount(why, peerId), () => this.commit.flush()), {
      runOnLimitedConnection: true,
    })
    this.disposables.add(() => libp2p.unhandle(CHANNEL_PROTOCOL))
    // A peer back on line: its channels' unacknowledged states go out now, not after the backoff.
    const onConnect = (evt: CustomEvent<{ toString(): string }>): void => {
      const peerId = evt.detail.toString()
      for (const c of this.channels.values()) if (c.peerId === peerId) this.pipelines.get(c.id)?.kick()
    }
    libp2p.addEventListener('peer:connect', onConnect)
    this.disposables.add(() => libp2p.removeEventListener('peer:connect', onConnect))
    this.running = true
    this.updateGauge()
    // Unacknowledged states of the payer are resent once the payee says what it holds.
    for (const c of this.channels.values()) {
      if (c.role !== 'payer' || c.state !== 'open') continue
      const latest = this.repo.latestPayment(c.id)
      if (latest && latest.seq > c.seq) {
        const pipeline = this.pipeline(c)
        for (const p of this.repo.payments(c.id, latest.seq - c.seq).reverse()) if (p.status === 'sent') void pipeline.push({ seq: p.seq, paidSats: p.paidSats, sig: p.sig }, false).catch(() => {})
        pipeline.reconcile()
      }
    }
    this.disposables.interval(() => void this.checkChain(), this.opts.chainPollMs)
  }

  async stop(): Promise<void> {
    this.running = false
    for (const p of this.pipelines.values()) p.stop()
    this.pipelines.clear()
    for (const l of this.links.values()) l.close()
    this.links.clear()
    await this.disposables.dispose()
    this.commit.flush()
  }

  // ---- queries ----

  list(): Channel[] {
    // Live records win over their rows: they may be ahead of the disk by a group commit.
    const rows = this.repo.all().filter((c) => !this.channels.has(c.id))
    return [...this.channels.values(), ...rows].sort((a, b) => b.createdAt - a.createdAt).map(toChannel)
  }

  get isRunning(): boolean {
    return this.running
  }

  get(id: string): Channel & { payments: ChannelPayment[] } {
    const c = this.require(id)
    return { ...toChannel(c), payments: this.repo.payments(id, 1000).map(toPayment) }
  }

  counts(): { open: number; pending: number; total: number } {
    let open = 0
    let pending = 0
    for (const c of this.channels.values()) {
      if (c.state === 'open') open++
      else if (c.state === 'proposed' || c.state === 'funding') pending++
    }
    return { open, pending, total: this.repo.count() }
  }

  // ---- payer: open ----

  async open(params: { peerId: string; capacitySats: number; expiry?: number }): Promise<Channel> {
    this.requireRunning()
    if (params.peerId === this.components.node.libp2p.peerId.toString()) throw new ContractError('invalid_params', 'a channel needs another peer', { field: 'peerId' })
    const fees = channelFees(this.opts.feeRateSatsPerKb)
    if (params.capacitySats <= fees.settlementFeeSats + fees.refundFeeSats + 1) throw new ContractError('invalid_params', 'the capacity does not cover the channel fees', { field: 'capacitySats' })
    const height = await this.height()
    const expiry = params.expiry ?? height + this.opts.defaultExpiryBlocks
    if (expiry <= height + this.opts.closeMarginBlocks) throw new ContractError('invalid_params', `expiry must be above height ${height + this.opts.closeMarginBlocks}`, { field: 'expiry' })
    const keyIndex = this.repo.nextKeyIndex()
    const { address } = await this.components.wallet.newAddress()
    const now = Date.now()
    const c: ChannelRecord = {
      id: randomBytes(16).toString('hex'), peerId: params.peerId, role: 'payer', state: 'proposed', capacitySats: params.capacitySats, paidSats: 0, seq: 0,
      lastSig: null, expiry, feeRate: this.opts.feeRateSatsPerKb, settlementFeeSats: fees.settlementFeeSats, refundFeeSats: fees.refundFeeSats, keyIndex,
      payerPub: hex(publicKeyOf(this.key(keyIndex))), payeePub: null, payerAddress: address, payeeAddress: null, fundingTxid: null, fundingVout: null,
      fundingHex: null, reservationId: null, refundPayeeSig: null, settlementTxid: null, refundTxid: null, createdAt: now, updatedAt: now,
    }
    await this.commit.run(() => this.repo.insert(c))
    this.channels.set(c.id, c)
    this.changed(c)
    let answer
    try {
      answer = await this.link(c.peerId).request({
        t: 'propose', channelId: c.id, capacitySats: c.capacitySats, expiry: c.expiry, feeRate: c.feeRate, settlementFeeSats: c.settlementFeeSats,
        refundFeeSats: c.refundFeeSats, payerPub: c.payerPub, payerAddress: c.payerAddress,
      })
    } catch (err) {
      await this.move(c, err instanceof ChannelPeerError && err.code === 'rejected' ? 'reject' : 'fail')
      throw this.asContractError(err)
    }
    if (answer.decision === 'pending') return toChannel(c)
    await this.fund(c, answer.payeePub, answer.payeeAddress)
    return toChannel(c)
  }

  /** The payee accepted: build the funding tx, get the refund signed, persist it, then broadcast. */
  async fund(c: ChannelRecord, payeePub: string, payeeAddress: string): Promise<void> {
    if (payeePub === c.payerPub) {
      await this.move(c, 'fail')
      throw new ContractError('rejected', 'the peer answered with our own key')
    }
    this.funding.add(c.id)
    try {
      await this.fundNow(c, payeePub, payeeAddress)
    } finally {
      this.funding.delete(c.id)
    }
  }

  private async fundNow(c: ChannelRecord, payeePub: string, payeeAddress: string): Promise<void> {
    c.payeePub = payeePub
    c.payeeAddress = payeeAddress
    await this.move(c, 'accept')
    let reservation
    try {
      reservation = this.components.wallet.reserveForChannel({ capacitySats: c.capacitySats, feeRateSatsPerKb: c.feeRate })
    } catch (err) {
      await this.move(c, 'fail')
      throw err
    }
    const release = async (): Promise<void> => {
      this.components.wallet.releaseChannelFunding(reservation.reservationId)
      await this.move(c, 'fail')
    }
    try {
      const funding = buildFundingTx({
        utxos: reservation.coins.map((u) => ({ ...u, lockingScript: p2pkhScript(publicKeyOf(u.privateKey)) })),
        capacity: c.capacitySats, payerPub: bytes(c.payerPub), payeePub: bytes(payeePub), change: reservation.changeAddress, feeRateSatsPerKb: c.feeRate, backend: this.backend,
      })
      c.fundingTxid = funding.txid
      c.fundingVout = funding.vout
      c.fundingHex = funding.tx.toHex()
      c.reservationId = reservation.reservationId
      await this.save(c)
      const { sig } = await this.link(c.peerId).request({ t: 'signRefund', channelId: c.id, fundingTxid: funding.txid, fundingVout: funding.vout })
      if (!verifyInputSignature(this.refundTx(c), 0, this.source(c), bytes(sig), bytes(payeePub), this.backend)) throw new ContractError('rejected', 'the refund signature does not verify')
      // The refund is safe on disk before any money moves into the 2-of-2.
      c.refundPayeeSig = sig
      await this.save(c)
      const { txid } = await this.components.chain.broadcaster.broadcast(c.fundingHex)
      if (txid !== funding.txid) throw new Error(`the chain answered with txid ${txid}, expected ${funding.txid}`)
      this.components.wallet.completeChannelFunding(reservation.reservationId, {
        txid, capacitySats: c.capacitySats, feeSats: funding.feeSats, changeSats: funding.changeSats, changeAddress: reservation.changeAddress, fundingAddress: `channel:${c.id}`,
      })
      c.reservationId = null
      if (this.opts.confirmations === 0) await this.move(c, 'fundingBroadcast')
      else await this.save(c)
    } catch (err) {
      if (c.refundPayeeSig === null || err instanceof BroadcastRejectedError) await release()
      // Otherwise the funding tx may have left: the chain check rebroadcasts it and opens the channel.
      throw this.asContractError(err)
    }
    await this.link(c.peerId).request({ t: 'funded', channelId: c.id, fundingTxid: c.fundingTxid }).catch((err: unknown) => this.log.debug('funded notice not delivered', { err }))
  }

  async acceptProposal(id: string): Promise<void> {
    this.requireRunning()
    await this.payee.accept(id)
  }

  async rejectProposal(id: string): Promise<void> {
    this.requireRunning()
    await this.payee.reject(id)
  }

  // ---- payer: pay ----

  async pay(params: { channelId: string; sats: number; memo?: string }): Promise<{ channelId: string; seq: number; paidSats: number }> {
    this.requireRunning()
    const c = this.require(params.channelId)
    if (c.role !== 'payer') throw new ContractError('invalid_state', 'only the payer pays through a channel')
    if (c.state !== 'open') throw new ContractError('invalid_state', `the channel is ${c.state}`)
    const last = this.signed.get(c.id) ?? this.latestSigned(c)
    const newPaid = last.paidSats + params.sats
    const verdict = validatePayment({ capacity: c.capacitySats, paidSats: last.paidSats, newPaidSats: newPaid, seq: last.seq, newSeq: last.seq + 1, feeSats: c.settlementFeeSats })
    if (!verdict.ok) throw new ContractError(verdict.code === 'exceeds-capacity' ? 'insufficient_funds' : 'invalid_params', verdict.message, { reason: verdict.code })
    const seq = last.seq + 1
    const sig = hex(this.sighasher(c).sign(newPaid, this.key(c.keyIndex), this.backend))
    this.signed.set(c.id, { seq, paidSats: newPaid })
    const memo = params.memo ?? null
    await this.commit.run(() => this.repo.insertSent({ channelId: c.id, seq, sats: params.sats, paidSats: newPaid, sig, memo, status: 'sent', createdAt: Date.now() }))
    await this.pipeline(c).push({ seq, paidSats: newPaid, sig, ...(params.memo === undefined ? {} : { memo: params.memo }) })
    this.m.payments.inc({ role: 'payer' })
    this.m.sats.inc({ role: 'payer' }, params.sats)
    return { channelId: c.id, seq, paidSats: newPaid }
  }

  // ---- close ----

  async close(channelId: string): Promise<Channel> {
    this.requireRunning()
    const c = this.require(channelId)
    if (c.role === 'payee') {
      if (c.state !== 'open' && c.state !== 'closing') throw new ContractError('invalid_state', `the channel is ${c.state}`)
      await this.payee.settle(c)
      return toChannel(c)
    }
    if (c.state === 'proposed' || c.state === 'funding') {
      // Nothing is on chain yet (or only our refund-protected funding): give up the proposal.
      if (c.fundingTxid === null || c.refundPayeeSig === null) {
        if (c.reservationId) this.components.wallet.releaseChannelFunding(c.reservationId)
        await this.move(c, 'fail')
        return toChannel(c)
      }
    }
    if (c.state !== 'open') throw new ContractError('invalid_state', `the channel is ${c.state}`)
    await this.pipelines.get(c.id)?.idle(this.opts.payTimeoutMs)
    if (c.seq === 0) {
      // No payment: there is no settlement to sign; the refund returns everything at expiry.
      await this.move(c, 'closeRequested')
      return toChannel(c)
    }
    const { settlementTxid } = await this.link(c.peerId)
      .request({ t: 'close', channelId: c.id, seq: c.seq, paidSats: c.paidSats })
      .catch((err: unknown) => {
        throw this.asContractError(err)
      })
    c.settlementTxid = settlementTxid
    await this.move(c, 'closeRequested')
    return toChannel(c)
  }

  // ---- requests from peers ----

  private async onRequest(peerId: string, req: ChannelRequest): Promise<Record<string, unknown>> {
    try {
      if (!this.running) throw new ContractError('unavailable', 'the channel engine is stopping')
      switch (req.t) {
        case 'propose':
          return await this.payee.onPropose(peerId, req)
        case 'signRefund':
          return await this.payee.onSignRefund(peerId, req)
        case 'funded':
          return await this.payee.onFunded(peerId, req)
        case 'pay':
          return await this.payee.onPay(peerId, req)
        case 'sync':
          return await this.payee.onSync(peerId, req)
        case 'close':
          return await this.payee.onClose(peerId, req)
        case 'accept': {
          const c = this.ownChannel(peerId, req.channelId, 'payer')
          if (c.state !== 'proposed') throw new ContractError('invalid_state', `the channel is ${c.state}`)
          void this.fund(c, req.payeePub, req.payeeAddress).catch((err: unknown) => this.log.warn('channel funding failed', { err, channelId: c.id }))
          return {}
        }
        case 'reject': {
          const c = this.ownChannel(peerId, req.channelId, 'payer')
          if (c.state !== 'proposed') throw new ContractError('invalid_state', `the channel is ${c.state}`)
          await this.move(c, 'reject')
          return {}
        }
      }
    } catch (err) {
      this.refusedCount((err as { code?: string }).code ?? 'internal', peerId)
      throw err
    }
  }

  /** The channel `id`, only if it belongs to `peerId` and we hold `role` in it. */
  ownChannel(peerId: string, id: string, role: 'payer' | 'payee'): ChannelRecord {
    const c = this.record(id)
    // The same answer for "unknown" and "someone else's": a peer learns nothing of other channels.
    if (!c || c.peerId !== peerId || c.role !== role) throw new ContractError('not_found', 'no such channel with this peer')
    return c
  }

  // ---- chain ----

  /** Auto-close before expiry, refunds after it, confirmations of funding, settlement and refund. */
  checkChain(): Promise<void> {
    return this.watch.check()
  }

  /** The payer's way out when the payee vanished: valid only from the expiry height on. */
  broadcastRefund(c: ChannelRecord): Promise<string> {
    return this.watch.broadcastRefund(c)
  }

  // ---- helpers shared with the payee side ----

  key(index: number): Uint8Array {
    let k = this.keys.get(index)
    if (!k) {
      k = this.components.wallet.channelPrivateKey(index)
      this.keys.set(index, k)
    }
    return k
  }

  source(c: ChannelRecord): SourceOutput {
    let s = this.sources.get(c.id)
    if (!s) {
      s = { lockingScript: fundingOutputScript(bytes(c.payerPub), bytes(c.payeePub!)), satoshis: c.capacitySats }
      this.sources.set(c.id, s)
    }
    return s
  }

  /** The settlement sighash of an open channel, its constant parts computed once. */
  sighasher(c: ChannelRecord): SettlementSighasher {
    let h = this.sighashers.get(c.id)
    if (!h) {
      h = new SettlementSighasher({ funding: { txid: c.fundingTxid!, vout: c.fundingVout! }, capacity: c.capacitySats, payee: c.payeeAddress!, payer: c.payerAddress, feeSats: c.settlementFeeSats }, this.source(c))
      this.sighashers.set(c.id, h)
    }
    return h
  }

  settlementTx(c: ChannelRecord, paidSats: number): Transaction {
    return buildSettlementTx({ funding: { txid: c.fundingTxid!, vout: c.fundingVout! }, capacity: c.capacitySats, paidSats, payee: c.payeeAddress!, payer: c.payerAddress, feeSats: c.settlementFeeSats }).tx
  }

  refundTx(c: ChannelRecord): Transaction {
    return buildRefundTx({ funding: { txid: c.fundingTxid!, vout: c.fundingVout! }, capacity: c.capacitySats, payer: c.payerAddress, expiryLockTime: c.expiry, feeSats: c.refundFeeSats })
  }

  async height(): Promise<number> {
    try {
      return await this.components.chain.lookup.height()
    } catch {
      throw new ContractError('unavailable', 'the chain service is unreachable')
    }
  }

  async save(c: ChannelRecord): Promise<void> {
    c.updatedAt = Date.now()
    await this.commit.run(() => this.repo.save(c))
  }

  /** A legal transition, persisted, then emitted. */
  async move(c: ChannelRecord, event: ChannelEvent): Promise<void> {
    const to = transition(c.state, event)
    const changed = to !== c.state
    c.state = to
    await this.save(c)
    if (changed) this.updateGauge()
    if (changed && isTerminal(to)) this.forget(c)
    this.changed(c)
  }

  /** A channel that is over needs none of its hot-path caches (each is rebuilt on demand). */
  private forget(c: ChannelRecord): void {
    this.pipelines.get(c.id)?.stop()
    this.pipelines.delete(c.id)
    this.signed.delete(c.id)
    this.sources.delete(c.id)
    this.sighashers.delete(c.id)
    this.keys.delete(c.keyIndex)
    this.channels.delete(c.id)
  }

  changed(c: ChannelRecord): void {
    this.components.events.emit('channels', toChannel(c))
  }

  countPayment(role: 'payer' | 'payee', sats: number): void {
    this.m.payments.inc({ role })
    this.m.sats.inc({ role }, sats)
  }

  link(peerId: string): ChannelLink {
    let l = this.links.get(peerId)
    if (!l) {
      l = new ChannelLink(this.components.node.libp2p, peerId, this.opts.requestTimeoutMs)
      this.links.set(peerId, l)
    }
    return l
  }

  private pipeline(c: ChannelRecord): PaymentPipeline {
    let p = this.pipelines.get(c.id)
    if (!p) {
      p = new PaymentPipeline(
        {
          window: this.opts.window,
          payTimeoutMs: this.opts.payTimeoutMs,
          logger: this.log,
          send: async (s) => {
            await this.link(c.peerId).request({ t: 'pay', channelId: c.id, seq: s.seq, paidSats: s.paidSats, sig: s.sig, ...(s.memo === undefined ? {} : { memo: s.memo }) })
          },
          sync: () => this.link(c.peerId).request({ t: 'sync', channelId: c.id }),
          acked: async (seq, paidSats) => {
            c.seq = Math.max(c.seq, seq)
            c.paidSats = Math.max(c.paidSats, paidSats)
            await this.commit.run(() => this.repo.markAcked(c.id, seq, paidSats, Date.now()))
            this.changedSoon(c)
          },
          refused: (seq, err) => void this.rollback(c, seq, err),
        },
        c.seq,
      )
      this.pipelines.set(c.id, p)
    }
    return p
  }

  /** The payee refused state `seq`: it and every later state are void; we continue from the payee's. */
  private async rollback(c: ChannelRecord, seq: number, err: Error): Promise<void> {
    this.log.warn('payment refused by the payee', { channelId: c.id, seq, err })
    this.pipelines.get(c.id)?.dropFrom(seq, this.asContractError(err))
    await this.commit.run(() => this.components.store.db.prepare("DELETE FROM channel_payments WHERE channel_id = ? AND seq >= ? AND status = 'sent'").run(c.id, seq))
    this.signed.delete(c.id)
  }

  private latestSigned(c: ChannelRecord): { seq: number; paidSats: number } {
    const latest = this.repo.latestPayment(c.id)
    return latest ? { seq: latest.seq, paidSats: latest.paidSats } : { seq: c.seq, paidSats: c.paidSats }
  }

  private readonly emitQueued = new Set<string>()
  /** Payments move amounts many times a millisecond: one event per channel per turn. */
  changedSoon(c: ChannelRecord): void {
    if (this.emitQueued.has(c.id)) return
    this.emitQueued.add(c.id)
    setImmediate(() => {
      this.emitQueued.delete(c.id)
      this.changed(c)
    })
  }

  private updateGauge(): void {
    const counts = new Map<ChannelStatus, number>(CHANNEL_STATUSES.map((s) => [s, 0]))
    for (const [state, n] of this.repo.countByState()) counts.set(state, n)
    for (const [state, n] of counts) this.m.states.set({ state }, n)
  }

  refusedCount(code: string, peerId: string): void {
    this.m.refused.inc({ code })
    this.log.debug('channel request refused', { code, peerId })
  }

  /** A live channel, or an ended one read from disk (nothing may move an ended channel). */
  record(id: string): ChannelRecord | undefined {
    return this.channels.get(id) ?? this.repo.get(id) ?? undefined
  }

  require(id: string): ChannelRecord {
    const c = this.record(id)
    if (!c) throw new ContractError('not_found', 'no such channel')
    return c
  }

  private requireRunning(): void {
    if (!this.running) throw new ContractError('unavailable', 'the channel engine is not running')
    if (!this.components.wallet.ready) throw new ContractError('invalid_state', 'the wallet is not open')
  }

  asContractError(err: unknown): Error {
    if (err instanceof ContractError) return err
    if (err instanceof ChannelPeerError) return new ContractError(err.code === 'link_lost' ? 'unavailable' : err.code, err.message)
    if (err instanceof BroadcastRejectedError) return new ContractError('rejected', `the chain refused the transaction (${err.reason})`, { reason: err.reason })
    return err instanceof Error ? err : new Error(String(err))
  }
}

