import { hkdfSync, pbkdf2Sync } from 'node:crypto'
import { HD, Mnemonic, PrivateKey } from '@bsv/sdk'
import { ContractError } from '../../shared/contract/index.js'
import type { Network } from '../config/index.js'
import { P2PKH_PREFIX } from './addresses.js'
import { ChildKeys } from './child-keys.js'

/** 0 = receive, 1 = change (BIP44). */
export type AddressChain = 0 | 1

/** BIP44 account paths: coin type 236 (BSV) on mainnet, 1 (test coins) elsewhere. */
const ACCOUNT_PATH: Readonly<Record<Network, string>> = { mainnet: "m/44'/236'/0'", testnet: "m/44'/1'/0'", devnet: "m/44'/1'/0'" }

/** Payment channel keys: a separate BIP44 account (1'), so they never collide with addresses. */
const CHANNEL_ACCOUNT_PATH: Readonly<Record<Network, string>> = { mainnet: "m/44'/236'/1'", testnet: "m/44'/1'/1'", devnet: "m/44'/1'/1'" }

export function generateMnemonic(): string {
  return Mnemonic.fromRandom(128).toString()
}

function normaliseMnemonic(words: string): string {
  return words.trim().toLowerCase().split(/\s+/).join(' ')
}

/** Checks word count, the English wordlist and the BIP39 checksum. */
export function assertValidMnemonic(words: string): string {
  const text = normaliseMnemonic(words)
  const count = text.split(' ').length
  if (![12, 15, 18, 21, 24].includes(count)) throw new ContractError('invalid_params', `a recovery phrase has 12 to 24 words, not ${count}`, { field: 'mnemonic' })
  let valid: boolean
  try {
    valid = Mnemonic.isValid(text)
  } catch {
    valid = false
  }
  if (!valid) throw new ContractError('invalid_params', 'the recovery phrase is not valid: a word is misspelt or out of place (checksum mismatch)', { field: 'mnemonic' })
  return text
}

/**
 * The keys of one wallet: BIP39 seed, BIP32 account, addresses derived per chain and index.
 * The seed is Node's native PBKDF2 (the SDK's JavaScript one costs 40 ms cold); the account
 * chains are derived on first use, since each hardened step is an EC multiplication in
 * JavaScript and the engine's start needs none of them.
 */
export class WalletKeys {
  private derived: { chains: [ChildKeys, ChildKeys]; channelChain: ChildKeys } | null = null
  private readonly prefix: number
  private readonly seed: Uint8Array

  constructor(
    readonly mnemonic: string,
    readonly network: Network,
  ) {
    // BIP39: PBKDF2-HMAC-SHA512 over the NFKD words, salt "mnemonic" (no passphrase), 2048 rounds.
    this.seed = new Uint8Array(pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512'))
    this.prefix = P2PKH_PREFIX[network]
  }

  private get chains(): [ChildKeys, ChildKeys] {
    return this.derive().chains
  }

  private get channelChain(): ChildKeys {
    return this.derive().channelChain
  }

  private derive(): { chains: [ChildKeys, ChildKeys]; channelChain: ChildKeys } {
    if (!this.derived) {
      const root = HD.fromSeed([...this.seed])
      const account = root.derive(ACCOUNT_PATH[this.network])
      this.derived = {
        chains: [new ChildKeys(account.deriveChild(0)), new ChildKeys(account.deriveChild(1))],
        channelChain: new ChildKeys(root.derive(CHANNEL_ACCOUNT_PATH[this.network]).deriveChild(0)),
      }
    }
    return this.derived
  }

  privateKey(chain: AddressChain, index: number): PrivateKey {
    return new PrivateKey(Array.from(this.chains[chain].privateKey(index)))
  }

  /** The key of payment channel number `index` (m/44'/coin'/1'/0/index). */
  channelPrivateKey(index: number): PrivateKey {
    return new PrivateKey(Array.from(this.channelChain.privateKey(index)))
  }

  /** A 32-byte key for `purpose` (e.g. sealing a backup), derived from the seed: the same words give it anywhere. */
  secretFor(purpose: string): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.seed, Buffer.from(`bsv-p2p ${purpose}`, 'utf8'), Buffer.from(this.network, 'utf8'), 32))
  }

  address(chain: AddressChain, index: number): string {
    return this.chains[chain].address(index, this.prefix)
  }
}

/** What names a wallet without its secret: the first receive address of the phrase's keys. */
export function walletFingerprint(words: string, network: Network): string {
  return new WalletKeys(assertValidMnemonic(words), network).address(0, 0)
}
