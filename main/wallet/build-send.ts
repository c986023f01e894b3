import { P2PKH, type LockingScript, Transaction } from '@bsv/sdk'
import type { AddressChain, WalletKeys } from './mnemonic.js'

export interface SendInput {
  txid: string
  vout: number
  satoshis: number
  address: string
  chain: AddressChain
  idx: number
}

export interface SignedSend {
  rawHex: string
  txid: string
  /** Where the change landed in the outputs; null when the send has none. */
  changeVout: number | null
}

/**
 * The signed P2PKH transaction of a send: inputs in the order selected, outputs sorted by
 * amount then script (BIP 69), so the change's position does not tell an observer which
 * output is ours. Source amounts and scripts go to the signer directly, so no source
 * transaction (and no network) is needed.
 */
export async function buildSignedSend(
  keys: WalletKeys,
  inputs: readonly SendInput[],
  payment: { pubkeyHash: number[]; sats: number },
  change: { address: string; sats: number } | null,
): Promise<SignedSend> {
  const tx = new Transaction()
  const p2pkh = new P2PKH()
  for (const input of inputs) {
    tx.addInput({
      sourceTXID: input.txid,
      sourceOutputIndex: input.vout,
      sequence: 0xffffffff,
      unlockingScriptTemplate: p2pkh.unlock(keys.privateKey(input.chain, input.idx), 'all', false, input.satoshis, p2pkh.lock(input.address)),
    })
  }
  const outputs: { lockingScript: LockingScript; satoshis: number }[] = [{ lockingScript: p2pkh.lock(payment.pubkeyHash), satoshis: payment.sats }]
  if (change) outputs.push({ lockingScript: p2pkh.lock(change.address), satoshis: change.sats })
  outputs.sort((a, b) => a.satoshis - b.satoshis || compareHex(a.lockingScript.toHex(), b.lockingScript.toHex()))
  for (const output of outputs) tx.addOutput(output)
  await tx.sign()
  const rawHex = tx.toHex()
  return { rawHex, txid: tx.id('hex'), changeVout: change ? outputIndexPaying(tx, change.address) : null }
}

/** The index of the first output of `tx` (a transaction or its hex) paying `address` by P2PKH; null when none does. */
export function outputIndexPaying(tx: Transaction | string, address: string): number | null {
  const parsed = typeof tx === 'string' ? Transaction.fromHex(tx) : tx
  const script = new P2PKH().lock(address).toHex()
  const index = parsed.outputs.findIndex((o) => o.lockingScript.toHex() === script)
  return index === -1 ? null : index
}

function compareHex(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
