import { P2PKH, Transaction } from '@bsv/sdk'
import type { AddressChain, WalletKeys } from './mnemonic.js'

export interface SendInput {
  txid: string
  vout: number
  satoshis: number
  address: string
  chain: AddressChain
  idx: number
}

/**
 * The signed P2PKH transaction of a send: inputs in the order selected, the payment as
 * output 0, change (if any) as output 1. Source amounts and scripts go to the signer
 * directly, so no source transaction (and no network) is needed.
 */
export async function buildSignedSend(
  keys: WalletKeys,
  inputs: readonly SendInput[],
  payment: { pubkeyHash: number[]; sats: number },
  change: { address: string; sats: number } | null,
): Promise<{ rawHex: string; txid: string }> {
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
  tx.addOutput({ lockingScript: p2pkh.lock(payment.pubkeyHash), satoshis: payment.sats })
  if (change) tx.addOutput({ lockingScript: p2pkh.lock(change.address), satoshis: change.sats })
  await tx.sign()
  return { rawHex: tx.toHex(), txid: tx.id('hex') }
}
