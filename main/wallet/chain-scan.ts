import type { ChainLookup } from '../chain/index.js'
import type { ChainOutput } from './wallet-repository.js'

/** Unspent outputs of every address, `concurrency` look-ups at a time; the first failure fails the scan. */
export async function scanUtxos(lookup: ChainLookup, addresses: readonly string[], concurrency: number, signal?: AbortSignal): Promise<ChainOutput[]> {
  const out: ChainOutput[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < addresses.length) {
      const address = addresses[next++]!
      for (const u of await lookup.utxos(address, signal)) out.push({ ...u, address })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, addresses.length)) }, worker))
  return out
}

/** The addresses that have any history on the chain. */
export async function usedByHistory(lookup: ChainLookup, addresses: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const used: string[] = []
  for (const address of addresses) if ((await lookup.history(address, signal)).length > 0) used.push(address)
  return used
}

/**
 * Outputs we marked spent that the chain still lists, whose spending transaction the chain
 * does not know (it never arrived or was dropped): they are ours to spend again.
 */
export async function unknownSpenders(
  lookup: ChainLookup,
  spentBy: ReadonlyMap<string, string>,
  listed: readonly ChainOutput[],
  signal?: AbortSignal,
): Promise<{ txid: string; vout: number }[]> {
  const revived: { txid: string; vout: number }[] = []
  for (const o of listed) {
    const spender = spentBy.get(`${o.txid}:${o.vout}`)
    if (spender && (await lookup.txStatus(spender, signal)) === null) revived.push({ txid: o.txid, vout: o.vout })
  }
  return revived
}
