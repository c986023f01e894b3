// A channel's transactions, built from its stored terms (never from what a peer sent with a
// request), with the per-channel parts cached for the payment hot path.
import type { Transaction } from '@bsv/sdk'
import type { Outpoint } from './records.js'
import type { SignatureBackend } from './signer.js'
import {
  SettlementSighasher, buildRefundTx, buildSettlementTx, channelFees, fundingOutputScript, multisigUnlockingScript, signInput, type SourceOutput,
  verifyInputSignature, withUnlockingScripts,
} from './transactions.js'

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

/** What the funding output locks: fixed once the payee's key is bound. */
export interface FundingTerms {
  id: string
  capacitySats: number
  payerPub: string
  payeePub: string
}

export interface RefundTerms extends FundingTerms {
  funding: Outpoint
  expiry: number
  refundFeeSats: number
  payerAddress: string
}

export interface SettlementSource extends FundingTerms {
  funding: Outpoint
  settlementFeeSats: number
  payerAddress: string
  payeeAddress: string
}

export class ChannelTx {
  private readonly sources = new Map<string, SourceOutput>()
  private readonly sighashers = new Map<string, SettlementSighasher>()

  constructor(readonly backend: SignatureBackend) {}

  fees(feeRateSatsPerKb: number): { settlementFeeSats: number; refundFeeSats: number } {
    return channelFees(feeRateSatsPerKb)
  }

  /** The 2-of-2 funding output (OP_2 <payer> <payee> OP_2 OP_CHECKMULTISIG) of the capacity. */
  source(c: FundingTerms): SourceOutput {
    let s = this.sources.get(c.id)
    if (!s) {
      s = { lockingScript: fundingOutputScript(bytes(c.payerPub), bytes(c.payeePub)), satoshis: c.capacitySats }
      this.sources.set(c.id, s)
    }
    return s
  }

  fundingScriptHex(c: FundingTerms): string {
    return this.source(c).lockingScript.toHex()
  }

  /** The settlement sighash of an open channel, its constant parts computed once. */
  settlement(c: SettlementSource): SettlementSighasher {
    let h = this.sighashers.get(c.id)
    if (!h) {
      h = new SettlementSighasher({ funding: c.funding, capacity: c.capacitySats, payee: c.payeeAddress, payer: c.payerAddress, feeSats: c.settlementFeeSats }, this.source(c))
      this.sighashers.set(c.id, h)
    }
    return h
  }

  refundTx(c: RefundTerms): Transaction {
    return buildRefundTx({ funding: c.funding, capacity: c.capacitySats, payer: c.payerAddress, expiryLockTime: c.expiry, feeSats: c.refundFeeSats })
  }

  /** The payee's signature over the refund (what it hands the payer before the funding leaves). */
  signRefund(c: RefundTerms, payeeKey: Uint8Array): Uint8Array {
    return signInput(this.refundTx(c), 0, this.source(c), payeeKey, this.backend)
  }

  /** The payer checks the payee's refund signature against the exact refund transaction. */
  verifyRefund(c: RefundTerms, payeeSig: Uint8Array): boolean {
    return verifyInputSignature(this.refundTx(c), 0, this.source(c), payeeSig, bytes(c.payeePub), this.backend)
  }

  /** The payer's complete refund, valid from the expiry height on. */
  signedRefund(c: RefundTerms, payeeSig: Uint8Array, payerKey: Uint8Array): string {
    const tx = this.refundTx(c)
    const mine = signInput(tx, 0, this.source(c), payerKey, this.backend)
    return withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(mine, payeeSig)]])).toHex()
  }

  /** The payee's complete settlement paying `paidSats`, co-signed over the payer's signature. */
  signedSettlement(c: SettlementSource, paidSats: number, payerSig: Uint8Array, payeeKey: Uint8Array): string {
    const { tx } = buildSettlementTx({ funding: c.funding, capacity: c.capacitySats, paidSats, payee: c.payeeAddress, payer: c.payerAddress, feeSats: c.settlementFeeSats })
    const mine = signInput(tx, 0, this.source(c), payeeKey, this.backend)
    return withUnlockingScripts(tx, new Map([[0, multisigUnlockingScript(payerSig, mine)]])).toHex()
  }

  forget(id: string): void {
    this.sources.delete(id)
    this.sighashers.delete(id)
  }
}
