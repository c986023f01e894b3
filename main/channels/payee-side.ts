// The payee's answers to a payer's requests. Every check runs against the stored channel
// of the authenticated peer; a refused request changes nothing. A state is verified
// against the exact settlement transaction rebuilt from our own stored parameters, and
// committed (group commit, synchronous=FULL) before its acknowledgement leaves.
import { Transaction } from '@bsv/sdk'
import { ContractError } from '../../shared/contract/index.js'
import type { ChannelEngine } from './channel-engine.js'
import type { ChannelRecord } from './channel-repository.js'
import type { ChannelRequest, ResultOf } from './protocol.js'
import { publicKeyOf } from './signer.js'
import { transition, validatePayment } from './state-machine.js'
import { channelFees, multisigUnlockingScript, signInput, withUnlockingScripts } from './transactions.js'

type Req<K extends ChannelRequest['t']> = Extract<ChannelRequest, { t: K }>

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

export class PayeeSide {
  constructor(private readonly engine: ChannelEngine) {}

  async onPropose(peerId: string, req: Req<'propose'>): Promise<ResultOf<'propose'>> {
    const e = this.engine
    const existing = e.record(req.channelId)
    if (existing) {
      const c = e.ownChannel(peerId, req.channelId, 'payee')
      if (c.capacitySats !== req.capacitySats || c.payerPub !== req.payerPub || c.expiry !== req.expiry) throw new ContractError('conflict', 'a different channel already has this id')
      if (c.state === 'proposed') return { decision: 'pending' }
      if (c.state === 'funding') return { decision: 'accepted', payeePub: c.payeePub!, payeeAddress: c.payeeAddress! }
      throw new ContractError('invalid_state', `the channel is ${c.state}`)
    }
    const fees = channelFees(req.feeRate)
    if (req.feeRate < e.opts.feeRateSatsPerKb) throw new ContractError('invalid_params', `the fee rate must be at least ${e.opts.feeRateSatsPerKb} sat/kB`)
    if (req.settlementFeeSats !== fees.settlementFeeSats || req.refundFeeSats !== fees.refundFeeSats) throw new ContractError('invalid_params', 'the fees do not match the fee rate')
    if (req.capacitySats <= fees.settlementFeeSats + fees.refundFeeSats + 1) throw new ContractError('invalid_params', 'the capacity does not cover the fees')
    const height = await e.height()
    if (req.expiry <= height + e.opts.closeMarginBlocks) throw new ContractError('invalid_params', 'the expiry is too close')
    const keyIndex = e.repo.nextKeyIndex()
    const payeePub = hex(publicKeyOf(e.key(keyIndex)))
    if (payeePub === req.payerPub) throw new ContractError('invalid_params', 'the payer key is ours')
    const { address } = await e.components.wallet.newAddress()
    const now = Date.now()
    const c: ChannelRecord = {
      id: req.channelId, peerId, role: 'payee', state: 'proposed', capacitySats: req.capacitySats, paidSats: 0, seq: 0, lastSig: null, expiry: req.expiry,
      feeRate: req.feeRate, settlementFeeSats: req.settlementFeeSats, refundFeeSats: req.refundFeeSats, keyIndex, payerPub: req.payerPub, payeePub,
      payerAddress: req.payerAddress, payeeAddress: address, fundingTxid: null, fundingVout: null, fundingHex: null, reservationId: null,
      refundPayeeSig: null, settlementTxid: null, refundTxid: null, createdAt: now, updatedAt: now,
    }
    const auto = req.capacitySats <= e.opts.autoAcceptMaxSats
    if (auto) c.state = transition('proposed', 'accept')
    e.channels.set(c.id, c)
    try {
      await e.commit.run(() => e.repo.insert(c))
    } catch (err) {
      e.channels.delete(c.id)
      throw err
    }
    e.changed(c)
    return auto ? { decision: 'accepted', payeePub, payeeAddress: address } : { decision: 'pending' }
  }

  /** acceptChannel: a pending proposal, accepted by the user. */
  async accept(id: string): Promise<void> {
    const e = this.engine
    const c = e.require(id)
    if (c.role !== 'payee' || c.state !== 'proposed') throw new ContractError('invalid_state', 'only a proposal made to us can be accepted')
    await e.move(c, 'accept')
    try {
      await e.link(c.peerId).request({ t: 'accept', channelId: c.id, payeePub: c.payeePub!, payeeAddress: c.payeeAddress! })
    } catch (err) {
      await e.move(c, 'fail')
      throw e.asContractError(err)
    }
  }

  async reject(id: string): Promise<void> {
    const e = this.engine
    const c = e.require(id)
    if (c.role !== 'payee' || c.state !== 'proposed') throw new ContractError('invalid_state', 'only a proposal made to us can be rejected')
    await e.move(c, 'reject')
    await e.link(c.peerId).request({ t: 'reject', channelId: c.id }).catch((err: unknown) => e.log.debug('reject notice not delivered', { err }))
  }

  async onSignRefund(peerId: string, req: Req<'signRefund'>): Promise<ResultOf<'signRefund'>> {
    const e = this.engine
    const c = e.ownChannel(peerId, req.channelId, 'payee')
    if (c.state !== 'funding') throw new ContractError('invalid_state', `the channel is ${c.state}`)
    if (c.fundingTxid !== null && (c.fundingTxid !== req.fundingTxid || c.fundingVout !== req.fundingVout)) throw new ContractError('conflict', 'the refund was already signed for another funding output')
    if (c.fundingTxid === null) {
      c.fundingTxid = req.fundingTxid
      c.fundingVout = req.fundingVout
      await e.save(c)
    }
    return { sig: hex(signInput(e.refundTx(c), 0, e.source(c), e.key(c.keyIndex), e.backend)) }
  }

  async onFunded(peerId: string, req: Req<'funded'>): Promise<ResultOf<'funded'>> {
    const c = this.engine.ownChannel(peerId, req.channelId, 'payee')
    if (c.fundingTxid !== req.fundingTxid) throw new ContractError('conflict', 'not the funding tx of this channel')
    await this.tryOpen(c)
    return {}
  }

  /** Open once the chain knows the funding tx, paying the agreed 2-of-2 the capacity. */
  private async tryOpen(c: ChannelRecord): Promise<void> {
    const e = this.engine
    if (c.state !== 'funding' || !c.fundingTxid) return
    const lookup = e.components.chain.lookup
    const [raw, status] = await Promise.all([lookup.rawTx(c.fundingTxid), lookup.txStatus(c.fundingTxid)]).catch(() => [null, null] as const)
    if (!raw || !status) return
    const out = Transaction.fromHex(raw).outputs[c.fundingVout!]
    if (!out || out.satoshis !== c.capacitySats || out.lockingScript.toHex() !== e.source(c).lockingScript.toHex()) {
      e.log.warn('the funding tx does not pay the channel', { channelId: c.id })
      await e.move(c, 'fail')
      return
    }
    if (status.confirmations < e.opts.confirmations) return
    if (c.state === 'funding') await e.move(c, status.confirmations > 0 ? 'fundingConfirmed' : 'fundingBroadcast')
  }

  /** The hot path: checks are synchronous, so pipelined states are judged in arrival order. */
  async onPay(peerId: string, req: Req<'pay'>): Promise<ResultOf<'pay'>> {
    const e = this.engine
    const c = e.ownChannel(peerId, req.channelId, 'payee')
    if (c.state === 'funding') await this.tryOpen(c)
    if (c.state !== 'open') throw new ContractError('invalid_state', `the channel is ${c.state}`)
    if (req.seq <= c.seq) {
      // A resent state (after a lost link) is acknowledged again; any other is a replay.
      const known = req.seq === c.seq ? { paidSats: c.paidSats, sig: c.lastSig } : e.repo.payment(c.id, req.seq)
      if (!known || known.paidSats !== req.paidSats || known.sig !== req.sig) throw new ContractError('conflict', `sequence ${req.seq} was already used for another state`)
      await e.commit.run(() => null)
      return { seq: req.seq }
    }
    const verdict = validatePayment({ capacity: c.capacitySats, paidSats: c.paidSats, newPaidSats: req.paidSats, seq: c.seq, newSeq: req.seq, feeSats: c.settlementFeeSats })
    if (!verdict.ok) throw new ContractError('invalid_params', verdict.message, { reason: verdict.code })
    if (!e.sighasher(c).verify(req.paidSats, bytes(req.sig), bytes(c.payerPub), e.backend)) throw new ContractError('forbidden', 'the signature does not sign this settlement with the payer key')
    const before = { seq: c.seq, paidSats: c.paidSats, lastSig: c.lastSig }
    c.seq = req.seq
    c.paidSats = req.paidSats
    c.lastSig = req.sig
    const now = Date.now()
    try {
      await e.commit.run(() => e.repo.storeReceived(c.id, { channelId: c.id, seq: req.seq, sats: verdict.amountSats, paidSats: req.paidSats, sig: req.sig, memo: req.memo ?? null, status: 'acked', createdAt: now }, now))
    } catch (err) {
      if (c.seq === req.seq) Object.assign(c, before)
      throw err
    }
    e.countPayment('payee', verdict.amountSats)
    e.changedSoon(c)
    return { seq: req.seq }
  }

  async onSync(peerId: string, req: Req<'sync'>): Promise<ResultOf<'sync'>> {
    const c = this.engine.ownChannel(peerId, req.channelId, 'payee')
    // Only committed states count: wait for whatever is being committed.
    await this.engine.commit.run(() => null)
    return { seq: c.seq, paidSats: c.paidSats }
  }

  async onClose(peerId: string, req: Req<'close'>): Promise<ResultOf<'close'>> {
    const c = this.engine.ownChannel(peerId, req.channelId, 'payee')
    await this.engine.commit.run(() => null)
    if (c.state !== 'open' && c.state !== 'closing') throw new ContractError('invalid_state', `the channel is ${c.state}`)
    if (req.seq !== c.seq || req.paidSats !== c.paidSats) throw new ContractError('conflict', `the split differs from the latest stored settlement (seq ${c.seq}, ${c.paidSats} sat)`)
    return { settlementTxid: await this.settle(c) }
  }

  /** Co-sign the latest settlement and broadcast it (cooperative close, or before expiry). */
  async settle(c: ChannelRecord): Promise<string> {
    const e = this.engine
    if (c.settlementTxid) return c.settlementTxid
    if (c.seq === 0 || !c.lastSig) throw new ContractError('invalid_state', 'nothing was paid: the payer’s refund returns the funds')
    const tx = e.settlementTx(c, c.paidSats)
    const mine = signInput(tx, 0, e.source(c), e.key(c.keyIndex), e.backend)
    const signed = withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(bytes(c.lastSig), mine)]]))
    let txid: string
    try {
      txid = (await e.components.chain.broadcaster.broadcast(signed.toHex())).txid
    } catch (err) {
      throw e.asContractError(err)
    }
    c.settlementTxid = txid
    await e.move(c, 'settlementBroadcast')
    return txid
  }
}
