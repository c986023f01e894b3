import { fromBase58Check } from '@bsv/sdk/primitives/utils'
import { addressProblem } from './wallet-text.js'

/** P2PKH version bytes by network; the devnet uses testnet's (as main/wallet/addresses.ts). */
const P2PKH_VERSION: Readonly<Record<string, number>> = { mainnet: 0x00, testnet: 0x6f, devnet: 0x6f }
/** Which network a version byte belongs to, in words. */
const VERSION_NETWORK: ReadonlyMap<number, string> = new Map([
  [0x00, 'mainnet'],
  [0x6f, 'testnet or devnet'],
])
const P2SH_VERSIONS: ReadonlySet<number> = new Set([0x05, 0xc4])

export type AddressCheck =
  | { ok: true; address: string }
  /** `incomplete`: nothing wrong yet that more typing could not fix (empty, too short); worth saying only on submit. */
  | { ok: false; problem: string; incomplete: boolean }

/**
 * Whether `input` is an address this wallet can pay, decoded as the wallet will decode it:
 * Base58Check (the checksum catches a typo), P2PKH, and the version byte of `network`
 * (a mainnet address on devnet or testnet, or the reverse, would send coins nowhere).
 */
export function checkAddress(input: string, network: string): AddressCheck {
  const text = input.trim()
  const shape = addressProblem(text)
  if (shape) return { ok: false, problem: shape, incomplete: text === '' || (text.length < 26 && /^[1-9A-HJ-NP-Za-km-z]*$/.test(text)) }
  let version: number
  let hashLength: number
  try {
    const decoded = fromBase58Check(text)
    const prefix = decoded.prefix as number[]
    if (prefix.length !== 1) return refused('That is not an address this wallet can pay.')
    version = prefix[0]!
    hashLength = (decoded.data as number[]).length
  } catch {
    return refused('That address has a typo: its last characters (the checksum) do not match the rest. Copy it again from the receiver.')
  }
  if (P2SH_VERSIONS.has(version)) return refused('That is a script (P2SH) address; BSV pays only ordinary (P2PKH) addresses.')
  const other = VERSION_NETWORK.get(version)
  if (other === undefined || hashLength !== 20) return refused('That is not a BSV address this wallet can pay.')
  const expected = P2PKH_VERSION[network]
  if (expected !== undefined && version !== expected) {
    return refused(`That is a ${other} address, but this wallet is on ${network}: coins sent there would be lost. Ask the receiver for a ${network} address.`)
  }
  return { ok: true, address: text }
}

function refused(problem: string): AddressCheck {
  return { ok: false, problem, incomplete: false }
}
