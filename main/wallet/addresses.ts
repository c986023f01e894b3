import { Utils } from '@bsv/sdk'
import { ContractError } from '../../shared/contract/index.js'
import type { Network } from '../config/schema.js'

/** P2PKH version bytes. The devnet uses testnet's, so testnet tools read its addresses. */
export const P2PKH_PREFIX: Readonly<Record<Network, number>> = { mainnet: 0x00, testnet: 0x6f, devnet: 0x6f }
const KNOWN_PREFIXES = new Map<number, string>([
  [0x00, 'mainnet'],
  [0x6f, 'testnet/devnet'],
  [0x05, 'mainnet P2SH'],
  [0xc4, 'testnet P2SH'],
])

export interface ParsedAddress {
  address: string
  /** 20-byte HASH160 of the public key. */
  pubkeyHash: number[]
}

/**
 * A Base58Check P2PKH address of this network, or a ContractError: 'invalid_address'
 * (malformed, bad checksum, not P2PKH) or 'wrong_network' (valid, but for another network).
 */
export function parseAddress(address: string, network: Network): ParsedAddress {
  const text = address.trim()
  if (!/^[1-9A-HJ-NP-Za-km-z]{26,40}$/.test(text)) throw new ContractError('invalid_address', 'not a Base58 address', { field: 'address' })
  let decoded: { prefix: number[] | string; data: number[] | string }
  try {
    decoded = Utils.fromBase58Check(text)
  } catch {
    throw new ContractError('invalid_address', 'the address checksum does not match: check it for typos', { field: 'address' })
  }
  const prefix = decoded.prefix as number[]
  const data = decoded.data as number[]
  if (prefix.length !== 1 || data.length !== 20) throw new ContractError('invalid_address', 'not a P2PKH address', { field: 'address' })
  const version = prefix[0]!
  if (version !== P2PKH_PREFIX[network]) {
    const other = KNOWN_PREFIXES.get(version)
    if (version === 0x05 || version === 0xc4) throw new ContractError('invalid_address', 'P2SH addresses are not supported on BSV', { field: 'address' })
    if (other) throw new ContractError('wrong_network', `this is a ${other} address; the wallet is on ${network}`, { field: 'address' })
    throw new ContractError('invalid_address', 'unknown address version', { field: 'address' })
  }
  return { address: text, pubkeyHash: data }
}

export function isValidAddress(address: string, network: Network): boolean {
  try {
    parseAddress(address, network)
    return true
  } catch {
    return false
  }
}
