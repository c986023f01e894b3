import { P2PKH, Transaction, Utils } from '@bsv/sdk'
import type { ChainLookup } from './chain.js'

export interface PaymentCheck {
  /** What the transaction pays to the address, in satoshis (0 when the chain does not know it). */
  paidSats: number
  /** Null while unconfirmed or unknown. */
  height: number | null
  confirmations: number
  /** The chain knows the transaction (mempool or block). */
  known: boolean
}

/**
 * What the chain says a transaction pays an address. A peer's claim ("I paid you, txid X")
 * is only a hint: this reads the transaction from the chain service, checks that its hash
 * is the txid, and sums the outputs locked to the address.
 */
export async function checkPayment(lookup: ChainLookup, txid: string, address: string, signal?: AbortSignal): Promise<PaymentCheck> {
  const raw = await lookup.rawTx(txid, signal)
  if (raw === null) return { paidSats: 0, height: null, confirmations: 0, known: false }
  const tx = Transaction.fromHex(raw)
  // A service that answers with some other transaction must not fool us.
  if (tx.id('hex') !== txid) throw new Error('the chain service returned a transaction with another txid')
  const lock = new P2PKH().lock(Utils.fromBase58Check(address).data as number[]).toHex()
  const paidSats = tx.outputs.reduce((sum, out) => (out.lockingScript.toHex() === lock ? sum + (out.satoshis ?? 0) : sum), 0)
  const status = await lookup.txStatus(txid, signal)
  return { paidSats, height: status?.height ?? null, confirmations: status?.confirmations ?? 0, known: status !== null }
}
