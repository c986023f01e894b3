import { readAddress } from '../../shared/address.js'
import { addressProblem } from './wallet-text.js'

export type AddressCheck =
  | { ok: true; address: string }
  /** `incomplete`: nothing wrong yet that more typing could not fix (empty, too short); worth saying only on submit. */
  | { ok: false; problem: string; incomplete: boolean }

/**
 * Whether `input` is an address this wallet can pay, read as the wallet will read it
 * (shared/address.ts): Base58Check (the checksum catches a typo), P2PKH, and the version
 * byte of `network` (a mainnet address on devnet or testnet, or the reverse, would send
 * coins nowhere); in words, before anything is sent.
 */
export function checkAddress(input: string, network: string): AddressCheck {
  const text = input.trim()
  const shape = addressProblem(text)
  if (shape) return { ok: false, problem: shape, incomplete: text === '' || (text.length < 26 && /^[1-9A-HJ-NP-Za-km-z]*$/.test(text)) }
  const read = readAddress(text, network)
  if (read.ok) return { ok: true, address: read.address }
  switch (read.problem) {
    case 'checksum':
      return refused('That address has a typo: its last characters (the checksum) do not match the rest. Copy it again from the receiver.')
    case 'p2sh':
      return refused('That is a script (P2SH) address; BSV pays only ordinary (P2PKH) addresses.')
    case 'wrong-network':
      return refused(`That is a ${read.network} address, but this wallet is on ${network}: coins sent there would be lost. Ask the receiver for a ${network} address.`)
    default:
      return refused('That is not a BSV address this wallet can pay.')
  }
}

function refused(problem: string): AddressCheck {
  return { ok: false, problem, incomplete: false }
}
