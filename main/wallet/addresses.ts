import { P2PKH_VERSION, readAddress } from '../../shared/address.js'
import { ContractError } from '../../shared/contract/index.js'
import type { Network } from '../config/index.js'

/** P2PKH version bytes. The devnet uses testnet's, so testnet tools read its addresses. */
export const P2PKH_PREFIX: Readonly<Record<Network, number>> = P2PKH_VERSION

export interface ParsedAddress {
  address: string
  /** 20-byte HASH160 of the public key. */
  pubkeyHash: number[]
}

const INVALID: Record<'malformed' | 'checksum' | 'p2sh' | 'not-p2pkh', string> = {
  malformed: 'not a Base58 address',
  checksum: 'the address checksum does not match: check it for typos',
  p2sh: 'P2SH addresses are not supported on BSV',
  'not-p2pkh': 'not a P2PKH address',
}

/**
 * A Base58Check P2PKH address of this network, or a ContractError: 'invalid_address'
 * (malformed, bad checksum, not P2PKH) or 'wrong_network' (valid, but for another network).
 */
export function parseAddress(address: string, network: Network): ParsedAddress {
  const read = readAddress(address, network)
  if (read.ok) return { address: read.address, pubkeyHash: read.pubkeyHash }
  if (read.problem === 'wrong-network') throw new ContractError('wrong_network', `this is a ${read.network} address; the wallet is on ${network}`, { field: 'address' })
  throw new ContractError('invalid_address', INVALID[read.problem], { field: 'address' })
}
