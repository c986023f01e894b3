// Pure checks of transactions the chain service returned: what a peer claims about the
// chain is never stored as told, only what these say of the bytes themselves.
import { Transaction } from '@bsv/sdk'
import { CHANNEL_TX_VERSION, FINAL_SEQUENCE, REFUND_SEQUENCE } from './constants.js'
import type { Outpoint, Spend } from './records.js'
import { buildSettlementTx } from './transactions.js'

function parse(rawHex: string, txid: string): Transaction | null {
  try {
    const tx = Transaction.fromHex(rawHex)
    // The service answered for `txid`: the bytes must hash to it, or they are someone else's.
    return tx.id('hex') === txid ? tx : null
  } catch {
    return null
  }
}

/** Does output `vout` of this funding tx pay exactly `scriptHex` exactly `capacitySats`? */
export function checkFundingOutput(rawHex: string, funding: Outpoint, scriptHex: string, capacitySats: number): 'ok' | 'mismatch' {
  const tx = parse(rawHex, funding.txid)
  const out = tx?.outputs[funding.vout]
  if (!out) return 'mismatch'
  return out.satoshis === capacitySats && out.lockingScript.toHex() === scriptHex ? 'ok' : 'mismatch'
}

/**
 * What spent the funding: the refund (nLockTime = expiry, non-final sequence) or a
 * settlement (whose first output pays the payee). Null when the bytes are not a
 * transaction spending `funding` (a service that answered wrongly).
 */
export function classifySpend(rawHex: string, txid: string, funding: Outpoint, expiry: number): (Spend & { payeeSats: number }) | null {
  const tx = parse(rawHex, txid)
  if (!tx) return null
  if (!tx.inputs.some((i) => i.sourceTXID === funding.txid && i.sourceOutputIndex === funding.vout)) return null
  if (tx.lockTime === expiry && tx.inputs[0]?.sequence === REFUND_SEQUENCE) return { kind: 'refund', txid, payeeSats: 0 }
  return { kind: 'settlement', txid, payeeSats: tx.outputs[0]?.satoshis ?? 0 }
}

export interface SettlementTerms {
  funding: Outpoint
  capacitySats: number
  payeeAddress: string
  payerAddress: string
  settlementFeeSats: number
}

/**
 * The payer checks a settlement the payee says it broadcast: the bytes are that txid, it
 * spends exactly the funding outpoint, and it is exactly the settlement template for a
 * payee amount the payer signed (`signed(paidSats)`). Returns the amount it pays, or why not.
 */
export function checkSettlement(rawHex: string, txid: string, t: SettlementTerms, signed: (paidSats: number) => boolean): { ok: true; paidSats: number } | { ok: false; why: string } {
  const tx = parse(rawHex, txid)
  if (!tx) return { ok: false, why: 'the chain does not hold a transaction with that id' }
  if (tx.inputs.length !== 1 || tx.inputs[0]!.sourceTXID !== t.funding.txid || tx.inputs[0]!.sourceOutputIndex !== t.funding.vout) return { ok: false, why: 'it does not spend this channel’s funding output' }
  const paidSats = tx.outputs[0]?.satoshis
  if (paidSats === undefined || !Number.isSafeInteger(paidSats)) return { ok: false, why: 'it has no payee output' }
  if (!signed(paidSats)) return { ok: false, why: `it pays the payee ${paidSats} sat, an amount this wallet never signed` }
  let expected: Transaction
  try {
    expected = buildSettlementTx({ funding: t.funding, capacity: t.capacitySats, paidSats, payee: t.payeeAddress, payer: t.payerAddress, feeSats: t.settlementFeeSats }).tx
  } catch {
    return { ok: false, why: 'its amounts do not fit the channel' }
  }
  const same =
    tx.version === CHANNEL_TX_VERSION &&
    tx.lockTime === 0 &&
    (tx.inputs[0]!.sequence ?? FINAL_SEQUENCE) === FINAL_SEQUENCE &&
    tx.outputs.length === expected.outputs.length &&
    tx.outputs.every((o, i) => o.satoshis === expected.outputs[i]!.satoshis && o.lockingScript.toHex() === expected.outputs[i]!.lockingScript.toHex())
  return same ? { ok: true, paidSats } : { ok: false, why: 'its outputs are not the settlement this wallet signed' }
}
