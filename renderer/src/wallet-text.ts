import { AddressTextSchema } from '../../shared/contract/index.js'

export const EXAMPLE_ADDRESS = 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn'

/** Word counts a BIP39 recovery phrase can have. */
const MNEMONIC_WORD_COUNTS = [12, 15, 18, 21, 24] as const

/**
 * Why a typed address cannot be right, or null when its shape is fine (Base58, 26 to 40
 * characters). Its checksum and network are the service's to check.
 */
export function addressProblem(input: string): string | null {
  const text = input.trim()
  if (text === '') return 'Enter the address to pay.'
  if (/\s/.test(text)) return 'An address has no spaces. Paste it again as one piece.'
  if (!AddressTextSchema.safeParse(text).success) {
    const bad = [...text].find((c) => !/[1-9A-HJ-NP-Za-km-z]/.test(c))
    if (bad) return `That is not an address: “${bad}” never appears in one. An address looks like ${EXAMPLE_ADDRESS.slice(0, 10)}…`
    return `That is not an address: it should be 26 to 40 characters, like ${EXAMPLE_ADDRESS.slice(0, 10)}…`
  }
  return null
}

/** The words of a phrase as a person typed it, in lower case and single-spaced. */
export const mnemonicWords = (input: string): string[] => input.trim().toLowerCase().split(/\s+/).filter(Boolean)

export function mnemonicProblem(input: string): string | null {
  const words = mnemonicWords(input)
  if (words.length === 0) return 'Enter your recovery phrase.'
  if (!(MNEMONIC_WORD_COUNTS as readonly number[]).includes(words.length)) return `A recovery phrase has 12, 15, 18, 21 or 24 words; this one has ${words.length}.`
  if (words.some((w) => !/^[a-z]+$/.test(w))) return 'A recovery phrase has only words of letters, separated by spaces.'
  return null
}
