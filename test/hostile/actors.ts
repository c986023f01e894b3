// The two roles a hostile peer plays against a daemon, on top of hostile-peer.ts and
// chain.ts. A payer whose every frame a test writes by hand; a payee that behaves
// honestly unless a test hooks a frame kind (for all channels or one).
import { randomBytes } from 'node:crypto'
import {
  type DevnetClient, Key, type Outpoint, type SettlementTerms, channelFees, completeMultisig, isLowSDer, multisigScript, refundTx, settlementTx, signInput, verifyInput,
} from './chain.js'
import type { HostilePeer, Reply, Script, ServedRequest } from './hostile-peer.js'
import type { FrameKind, WireAnswer } from './wire.js'

export const randomChannelId = (): string => randomBytes(16).toString('hex')

/** A well-formed, correctly encoded signature over nothing in particular (it signs random bytes). */
export function strangerSig(): string {
  const sig = new Key().priv.sign(Array.from(randomBytes(32)))
  return `${Buffer.from(sig.toDER() as number[]).toString('hex')}41`
}

export interface Proposal {
  channelId: string
  capacitySats: number
  expiry: number
  feeRate: number
  settlementFeeSats: number
  refundFeeSats: number
  payerPub: string
}

export function result(a: WireAnswer): Record<string, unknown> {
  if (a.t !== 'res') throw new Error(`expected a result, got ${a.code}: ${a.message}`)
  return a.result
}

/** `res` or the error code, for tables of expectations. */
export const outcome = (a: WireAnswer): string => (a.t === 'res' ? 'res' : a.code)

// ---- the hostile payer ----

/** One channel as a hostile payer holds it; every request goes out only when a test sends it. */
export class PayerChannel {
  readonly key = new Key()
  /** Where our refund and settlement change go. */
  readonly payout = new Key()
  readonly terms: Proposal
  payeePub: string | null = null
  funding: Outpoint | null = null
  payeeAddress: string | null = null
  seq = 0
  paidSats = 0

  constructor(
    readonly peer: HostilePeer,
    readonly daemonPeerId: string,
    t: { capacitySats: number; expiry: number; feeRate?: number; channelId?: string },
  ) {
    const feeRate = t.feeRate ?? 100
    this.terms = { channelId: t.channelId ?? randomChannelId(), capacitySats: t.capacitySats, expiry: t.expiry, feeRate, ...channelFees(feeRate), payerPub: this.key.pubHex }
  }

  get id(): string {
    return this.terms.channelId
  }

  ask(frame: Record<string, unknown> & { t: FrameKind }, timeoutMs?: number): Promise<WireAnswer> {
    return this.peer.ask(this.daemonPeerId, { channelId: this.id, ...frame }, timeoutMs)
  }

  async propose(overrides: Partial<Proposal> = {}): Promise<WireAnswer> {
    const a = await this.ask({ t: 'propose', ...this.terms, ...overrides })
    if (a.t === 'res' && a.result.decision === 'accepted' && Object.keys(overrides).length === 0) this.payeePub = String(a.result.payeePub)
    return a
  }

  get fundingScriptHex(): string {
    if (!this.payeePub) throw new Error('no payee key yet')
    return multisigScript(this.terms.payerPub, this.payeePub).toHex()
  }

  async signRefund(funding: Outpoint, payerAddress = this.payout.address): Promise<WireAnswer> {
    const a = await this.ask({ t: 'signRefund', fundingTxid: funding.txid, fundingVout: funding.vout, payerAddress })
    if (a.t === 'res') this.funding = funding
    return a
  }

  /** The payee's refund signature checks against the refund we would broadcast. */
  refundSigValid(sig: string, funding: Outpoint, payerAddress = this.payout.address): boolean {
    if (!this.payeePub) return false
    const tx = refundTx({ funding, capacity: this.terms.capacitySats, refundFee: this.terms.refundFeeSats, payerAddress, expiry: this.terms.expiry })
    return isLowSDer(sig) && verifyInput(tx, 0, multisigScript(this.terms.payerPub, this.payeePub), this.terms.capacitySats, sig, this.payeePub)
  }

  async funded(funding: Outpoint | null = this.funding): Promise<WireAnswer> {
    if (!funding) throw new Error('no funding to name')
    const a = await this.ask({ t: 'funded', fundingTxid: funding.txid, fundingVout: funding.vout })
    if (a.t === 'res' && a.result.state === 'open') this.payeeAddress = String(a.result.payeeAddress)
    return a
  }

  settlementTerms(payeeAddress = this.payeeAddress, funding = this.funding): SettlementTerms {
    if (!payeeAddress || !funding) throw new Error('the channel is not open')
    return { funding, capacity: this.terms.capacitySats, settlementFee: this.terms.settlementFeeSats, payeeAddress, payerAddress: this.payout.address }
  }

  /** Our signature over the settlement paying `paidSats` (the template the spec fixes). */
  settlementSig(paidSats: number, terms = this.settlementTerms()): string {
    if (!this.payeePub) throw new Error('no payee key yet')
    return signInput(settlementTx(terms, paidSats), 0, multisigScript(this.terms.payerPub, this.payeePub), this.terms.capacitySats, this.key)
  }

  /** The next state, correctly signed; the books move only when the payee acknowledges it. */
  async pay(sats: number): Promise<WireAnswer> {
    const seq = this.seq + 1
    const paidSats = this.paidSats + sats
    const a = await this.ask({ t: 'pay', seq, paidSats, sig: this.settlementSig(paidSats) })
    if (a.t === 'res') {
      this.seq = seq
      this.paidSats = paidSats
    }
    return a
  }
}

// ---- the hostile payee ----

export interface PayeeChannelState {
  id: string
  from: string
  terms: Proposal
  /** Our key in the 2-of-2. */
  key: Key
  /** Where the settlement pays us. */
  payout: Key
  funding: Outpoint | null
  payerAddress: string | null
  /** Every state we stored, in order. */
  pays: { seq: number; paidSats: number; sig: string }[]
  /** Every payer signature we were sent, acknowledged or not. */
  sigsSeen: { seq: number; paidSats: number; sig: string }[]
  refundSig: string | null
}

/** Return undefined to let the honest default answer. */
export type Hook = (req: ServedRequest, ch: PayeeChannelState | undefined) => Reply | undefined | Promise<Reply | undefined>

const err = (code: string, message = code): Reply => ({ error: code, message })

/**
 * A payee that is honest by default: checks fees, signs the refund it is asked for,
 * verifies the funding on chain before it opens, verifies every payment, settles on close.
 */
export class PayeeBrain {
  readonly channels = new Map<string, PayeeChannelState>()
  /** Hooks for every channel, by frame kind. */
  hooks: Partial<Record<FrameKind, Hook>> = {}
  /** Hooks for one channel, by frame kind; they win over `hooks`. */
  readonly perChannel = new Map<string, Partial<Record<FrameKind, Hook>>>()

  constructor(readonly chain: DevnetClient) {}

  readonly script: Script = async (req, from) => {
    const ch = this.channels.get(req.channelId)
    // Whatever a hook answers, a signature the payer sent is ours to keep.
    if (req.t === 'pay' && ch) ch.sigsSeen.push({ seq: Number(req.seq), paidSats: Number(req.paidSats), sig: String(req.sig) })
    const hook = this.perChannel.get(req.channelId)?.[req.t] ?? this.hooks[req.t]
    const hooked = hook ? await hook(req, ch) : undefined
    return hooked ?? this.honest(req, from, ch)
  }

  terms(ch: PayeeChannelState): SettlementTerms {
    if (!ch.funding || !ch.payerAddress) throw new Error('the channel is not funded')
    return { funding: ch.funding, capacity: ch.terms.capacitySats, settlementFee: ch.terms.settlementFeeSats, payeeAddress: ch.payout.address, payerAddress: ch.payerAddress }
  }

  /** The settlement paying the latest state we stored, both signatures on it. */
  latestSettlement(ch: PayeeChannelState): { hex: string; txid: string; paidSats: number } {
    const last = ch.pays.at(-1)
    if (!last) throw new Error('nothing was paid')
    return this.settlementFor(ch, last.paidSats, last.sig)
  }

  settlementFor(ch: PayeeChannelState, paidSats: number, payerSig: string): { hex: string; txid: string; paidSats: number } {
    const tx = settlementTx(this.terms(ch), paidSats)
    const ours = signInput(tx, 0, multisigScript(ch.terms.payerPub, ch.key.pubHex), ch.terms.capacitySats, ch.key)
    const full = completeMultisig(tx, payerSig, ours)
    return { hex: full.toHex(), txid: full.id('hex'), paidSats }
  }

  /** Accept the channel's key of our choosing (the honest `propose` answer with `key`). */
  adopt(req: ServedRequest, from: string, key = new Key()): PayeeChannelState {
    const terms: Proposal = {
      channelId: req.channelId, capacitySats: Number(req.capacitySats), expiry: Number(req.expiry), feeRate: Number(req.feeRate),
      settlementFeeSats: Number(req.settlementFeeSats), refundFeeSats: Number(req.refundFeeSats), payerPub: String(req.payerPub),
    }
    const ch: PayeeChannelState = { id: req.channelId, from, terms, key, payout: new Key(), funding: null, payerAddress: null, pays: [], sigsSeen: [], refundSig: null }
    this.channels.set(ch.id, ch)
    return ch
  }

  /** Our signature over the refund of `ch` for this funding and payer address. */
  signRefund(ch: PayeeChannelState, funding: Outpoint, payerAddress: string): string {
    const tx = refundTx({ funding, capacity: ch.terms.capacitySats, refundFee: ch.terms.refundFeeSats, payerAddress, expiry: ch.terms.expiry })
    return signInput(tx, 0, multisigScript(ch.terms.payerPub, ch.key.pubHex), ch.terms.capacitySats, ch.key)
  }

  async honest(req: ServedRequest, from: string, ch: PayeeChannelState | undefined): Promise<Reply> {
    switch (req.t) {
      case 'propose': {
        if (ch) return { result: { decision: 'accepted', payeePub: ch.key.pubHex } }
        const fees = channelFees(Number(req.feeRate))
        if (req.settlementFeeSats !== fees.settlementFeeSats || req.refundFeeSats !== fees.refundFeeSats) return err('refused', 'the fees do not match the fee rate')
        return { result: { decision: 'accepted', payeePub: this.adopt(req, from).key.pubHex } }
      }
      case 'signRefund': {
        if (!ch) return err('unknown_channel')
        const funding = { txid: String(req.fundingTxid), vout: Number(req.fundingVout) }
        ch.funding = funding
        ch.payerAddress = String(req.payerAddress)
        ch.refundSig = this.signRefund(ch, funding, ch.payerAddress)
        return { result: { sig: ch.refundSig } }
      }
      case 'funded': {
        if (!ch?.funding) return err('unexpected')
        const out = await this.chain.output(ch.funding.txid, ch.funding.vout)
        if (!out) return { result: { state: 'waiting', confirmations: 0, required: 0 } }
        if (out.satoshis !== ch.terms.capacitySats || out.scriptHex !== multisigScript(ch.terms.payerPub, ch.key.pubHex).toHex()) return err('refused', 'the funding does not hold')
        return { result: { state: 'open', payeeAddress: ch.payout.address } }
      }
      case 'pay': {
        if (!ch?.funding) return err('unknown_channel')
        const seq = Number(req.seq)
        const paidSats = Number(req.paidSats)
        const sig = String(req.sig)
        const last = ch.pays.at(-1) ?? { seq: 0, paidSats: 0 }
        if (seq === last.seq && paidSats === last.paidSats) return { result: { seq } }
        // A coalesced settlement lists the payments it covers; their amounts sum to its growth.
        const listed = Array.isArray(req.payments) ? (req.payments as { sats: number }[]) : null
        const count = listed?.length ?? 1
        if (seq !== last.seq + count || paidSats <= last.paidSats) return err('refused', `expected seq ${last.seq + count}`)
        if (listed && listed.reduce((sum, p) => sum + p.sats, 0) !== paidSats - last.paidSats) return err('malformed', 'the listed payments do not sum to the growth')
        const tx = settlementTx(this.terms(ch), paidSats)
        if (!isLowSDer(sig) || !verifyInput(tx, 0, multisigScript(ch.terms.payerPub, ch.key.pubHex), ch.terms.capacitySats, sig, ch.terms.payerPub)) return err('bad_signature')
        ch.pays.push({ seq, paidSats, sig })
        return { result: { seq } }
      }
      case 'sync': {
        const last = ch?.pays.at(-1) ?? { seq: 0, paidSats: 0 }
        return { result: { seq: last.seq, paidSats: last.paidSats } }
      }
      case 'close': {
        if (!ch) return err('unknown_channel')
        const last = ch.pays.at(-1)
        if (!last || last.seq !== req.seq || last.paidSats !== req.paidSats) return err('conflict')
        const s = this.latestSettlement(ch)
        const sent = await this.chain.broadcast(s.hex)
        if (!sent.ok) return err('unavailable', `broadcast refused: ${sent.title}`)
        return { result: { settlementTxid: s.txid } }
      }
      default:
        return err('unexpected')
    }
  }
}
