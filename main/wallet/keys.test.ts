import { HD, Mnemonic } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { ContractError } from '../../shared/contract/index.js'
import { parseAddress } from './addresses.js'
import { KeystoreFormatError, PassphraseKeystore, PlainKeystore, WrongPassphraseError, sealedKind } from './keystore.js'
import { WalletKeys, assertValidMnemonic, generateMnemonic } from './mnemonic.js'

const VECTOR = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return err instanceof ContractError ? err.code : `not a ContractError: ${String(err)}`
  }
  return 'no error'
}

describe('addresses', () => {
  const keys = new WalletKeys(VECTOR, 'mainnet')
  const mainAddr = keys.address(0, 0)
  const testAddr = new WalletKeys(VECTOR, 'testnet').address(0, 0)

  it('derive BIP44 addresses per network, the same for the same words', () => {
    expect(mainAddr.startsWith('1')).toBe(true)
    expect(/^[mn]/.test(testAddr)).toBe(true)
    expect(new WalletKeys(VECTOR, 'devnet').address(0, 0)).toBe(testAddr)
    expect(keys.address(0, 1)).not.toBe(mainAddr)
    expect(keys.address(1, 0)).not.toBe(mainAddr)
    // Same words, same addresses: what restore relies on.
    expect(new WalletKeys(VECTOR, 'mainnet').address(0, 5)).toBe(keys.address(0, 5))
    expect(keys.privateKey(0, 0).toAddress([0x00])).toBe(mainAddr)
  })

  it('derive what the SDK derives from the BIP39 seed (native PBKDF2 gives the published seed)', () => {
    // BIP39's published seed of these words with no passphrase.
    const seed = Mnemonic.fromString(VECTOR).toSeed()
    expect(Buffer.from(seed).toString('hex')).toBe('5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4')
    for (const words of [VECTOR, generateMnemonic(), generateMnemonic()]) {
      const root = HD.fromSeed(Mnemonic.fromString(words).toSeed())
      const k = new WalletKeys(words, 'mainnet')
      expect(k.address(0, 3)).toBe(root.derive("m/44'/236'/0'/0/3").pubKey.toAddress([0x00]))
      expect(k.address(1, 0)).toBe(root.derive("m/44'/236'/0'/1/0").pubKey.toAddress([0x00]))
      expect(k.channelPrivateKey(2).toHex()).toBe(root.derive("m/44'/236'/1'/0/2").privKey.toHex())
    }
  })

  it('accept an address of the network', () => {
    expect(parseAddress(mainAddr, 'mainnet').pubkeyHash).toHaveLength(20)
    expect(parseAddress(testAddr, 'devnet').address).toBe(testAddr)
  })

  it('refuse a wrong network with wrong_network', () => {
    expect(code(() => parseAddress(testAddr, 'mainnet'))).toBe('wrong_network')
    expect(code(() => parseAddress(mainAddr, 'testnet'))).toBe('wrong_network')
  })

  it('refuse malformed addresses and bad checksums with invalid_address', () => {
    const flipped = mainAddr.slice(0, -1) + (mainAddr.endsWith('a') ? 'b' : 'a')
    expect(code(() => parseAddress(flipped, 'mainnet'))).toBe('invalid_address')
    expect(code(() => parseAddress('hello', 'mainnet'))).toBe('invalid_address')
    expect(code(() => parseAddress('0OIl' + mainAddr.slice(4), 'mainnet'))).toBe('invalid_address')
    // A P2SH address (version 0x05) is not supported on BSV.
    expect(code(() => parseAddress('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet'))).toBe('invalid_address')
  })
})

describe('mnemonic', () => {
  it('generates valid 12-word phrases that differ', () => {
    const a = generateMnemonic()
    expect(a.split(' ')).toHaveLength(12)
    expect(assertValidMnemonic(a)).toBe(a)
    expect(generateMnemonic()).not.toBe(a)
  })

  it('refuses a bad checksum, unknown words and wrong lengths', () => {
    expect(code(() => assertValidMnemonic(VECTOR.replace(/about$/, 'abandon')))).toBe('invalid_params')
    expect(code(() => assertValidMnemonic(VECTOR.replace(/^abandon/, 'abandonx')))).toBe('invalid_params')
    expect(code(() => assertValidMnemonic('abandon abandon about'))).toBe('invalid_params')
    expect(assertValidMnemonic(`  ${VECTOR.toUpperCase()}  `)).toBe(VECTOR)
  })
})

describe('keystore', () => {
  const secret = new TextEncoder().encode(VECTOR)

  it('seals with a passphrase and opens only with it', async () => {
    const ks = new PassphraseKeystore({ passphrase: 'correct horse', scryptLogN: 10 })
    const sealed = await ks.seal(secret)
    expect(sealedKind(sealed)).toBe('passphrase')
    expect(Buffer.from(sealed).includes(Buffer.from('abandon'))).toBe(false)
    expect(new TextDecoder().decode(await ks.open(sealed))).toBe(VECTOR)
    await expect(new PassphraseKeystore({ passphrase: 'wrong horse', scryptLogN: 10 }).open(sealed)).rejects.toBeInstanceOf(WrongPassphraseError)
    // Same secret twice: different salt and iv, different bytes.
    expect(Buffer.from(await ks.seal(secret)).equals(Buffer.from(sealed))).toBe(false)
  })

  it('detects tampering with the header or the ciphertext', async () => {
    const ks = new PassphraseKeystore({ passphrase: 'pw', scryptLogN: 10 })
    const sealed = await ks.seal(secret)
    const lowerCost = Uint8Array.from(sealed)
    lowerCost[6] = 9
    await expect(ks.open(lowerCost)).rejects.toBeInstanceOf(WrongPassphraseError)
    const flipped = Uint8Array.from(sealed)
    flipped[flipped.length - 1]! ^= 1
    await expect(ks.open(flipped)).rejects.toBeInstanceOf(WrongPassphraseError)
    await expect(ks.open(new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(KeystoreFormatError)
  })

  it('keeps plain and passphrase formats apart', async () => {
    const plain = await new PlainKeystore().seal(secret)
    expect(sealedKind(plain)).toBe('plain')
    await expect(new PassphraseKeystore({ passphrase: 'pw', scryptLogN: 10 }).open(plain)).rejects.toBeInstanceOf(KeystoreFormatError)
    expect(() => new PassphraseKeystore({ passphrase: '' })).toThrow(KeystoreFormatError)
  })
})

describe('loadPassphrase', () => {
  it('reads the first line of a private file, else the environment', async () => {
    const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { loadPassphrase, PassphraseSourceError } = await import('./passphrase.js')
    const dir = mkdtempSync(join(tmpdir(), 'pass-'))
    try {
      const file = join(dir, 'pw')
      writeFileSync(file, 'secret words\n', { mode: 0o600 })
      expect(loadPassphrase({ file, env: {} })).toBe('secret words')
      chmodSync(file, 0o644)
      expect(() => loadPassphrase({ file, env: {} })).toThrow(PassphraseSourceError)
      expect(() => loadPassphrase({ file: join(dir, 'missing'), env: {} })).toThrow(PassphraseSourceError)
      expect(loadPassphrase({ env: { BSV_P2P_PASSPHRASE: 'from env' } })).toBe('from env')
      expect(loadPassphrase({ env: {} })).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
