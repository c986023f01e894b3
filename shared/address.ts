import { fromBase58Check } from '@bsv/sdk/primitives/utils'

export type AddressNetwork = 'mainnet' | 'testnet' | 'devnet'

/** P2PKH version bytes. The devnet uses testnet's, so testnet tools read its addresses. */
export const P2PKH_VERSION: Readonly<Record<AddressNetwork, number>> = { mainnet: 0x00, testnet: 0x6f, devnet: 0x6f }
const VERSION_NETWORK: ReadonlyMap<number, string> = new Map([
  [0x00, 'mainnet'],
  [0x6f, 'testnet or devnet'],
])
const P2SH_VERSIONS: ReadonlySet<number> = new Set([0x05, 0xc4])

/** Why an address cannot be paid, as the engine (a typed error) and the app (words) both tell it. */
export type AddressReading =
  | { ok: true; address: string; pubkeyHash: number[] }
  | { ok: false; problem: 'malformed' | 'checksum' | 'p2sh' | 'not-p2pkh' }
  /** A valid address of another network: coins sent there would be lost. */
  | { ok: false; problem: 'wrong-network'; network: string }

/**
 * Reads `input` as an address `network` can pay: Base58Check (the checksum catches a
 * typo), P2PKH (a 1-byte version and a 20-byte key hash), and the network's version byte
 * (any network's, when `network` is not one this app knows).
 * The one reading for the engine (main/wallet/addresses.ts) and the app as you type.
 */
export function readAddress(input: string, network: string): AddressReading {
  const address = input.trim()
  if (!/^[1-9A-HJ-NP-Za-km-z]{26,40}$/.test(address)) return { ok: false, problem: 'malformed' }
  let prefix: number[]
  let pubkeyHash: number[]
  try {
    const decoded = fromBase58Check(address)
    prefix = decoded.prefix as number[]
    pubkeyHash = decoded.data as number[]
  } catch {
    return { ok: false, problem: 'checksum' }
  }
  const version = prefix.length === 1 ? prefix[0]! : -1
  if (P2SH_VERSIONS.has(version)) return { ok: false, problem: 'p2sh' }
  const of = VERSION_NETWORK.get(version)
  if (of === undefined || pubkeyHash.length !== 20) return { ok: false, problem: 'not-p2pkh' }
  const expected = P2PKH_VERSION[network as AddressNetwork] as number | undefined
  if (expected !== undefined && version !== expected) return { ok: false, problem: 'wrong-network', network: of }
  return { ok: true, address, pubkeyHash }
}
