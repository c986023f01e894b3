import { PrivateKey, Utils } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { checkAddress } from './address-check.js'

const key = new PrivateKey(123_456_789)
const mainnet = key.toAddress([0x00])
const testnet = key.toAddress([0x6f])
/** One character changed: still Base58, same length, but the checksum no longer matches. */
function typo(address: string): string {
  const i = Math.floor(address.length / 2)
  return address.slice(0, i) + (address[i] === 'a' ? 'b' : 'a') + address.slice(i + 1)
}

describe('checkAddress', () => {
  it('accepts an address of the wallet’s network, trimmed', () => {
    expect(checkAddress(` ${testnet}\n`, 'devnet')).toEqual({ ok: true, address: testnet })
    expect(checkAddress(testnet, 'testnet')).toEqual({ ok: true, address: testnet })
    expect(checkAddress(mainnet, 'mainnet')).toEqual({ ok: true, address: mainnet })
  })

  it('refuses another network’s address in words that name both networks', () => {
    const onDevnet = checkAddress(mainnet, 'devnet')
    expect(onDevnet).toMatchObject({ ok: false, incomplete: false })
    expect(!onDevnet.ok && onDevnet.problem).toMatch(/^That is a mainnet address, but this wallet is on devnet/)
    const onMainnet = checkAddress(testnet, 'mainnet')
    expect(!onMainnet.ok && onMainnet.problem).toMatch(/^That is a testnet or devnet address, but this wallet is on mainnet/)
  })

  it('refuses a typo by its checksum', () => {
    for (const address of [typo(mainnet), typo(testnet)]) {
      const check = checkAddress(address, 'devnet')
      expect(check).toMatchObject({ ok: false, incomplete: false })
      expect(!check.ok && check.problem).toMatch(/checksum/)
    }
  })

  it('refuses what is not Base58, script addresses and other payloads', () => {
    const notBase58 = checkAddress(testnet.slice(0, -1) + '0', 'devnet')
    expect(notBase58).toMatchObject({ ok: false, incomplete: false })
    expect(!notBase58.ok && notBase58.problem).toMatch(/“0” never appears/)
    const p2sh = checkAddress('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet')
    expect(!p2sh.ok && p2sh.problem).toMatch(/P2SH/)
    // A valid Base58Check string whose payload is not a 20-byte key hash.
    const long = Utils.toBase58Check(Array.from({ length: 24 }, (_, i) => i), [0x6f])
    expect(checkAddress(long, 'devnet')).toMatchObject({ ok: false, problem: 'That is not a BSV address this wallet can pay.' })
    const unknownVersion = Utils.toBase58Check(Array.from({ length: 20 }, (_, i) => i), [0x30])
    expect(checkAddress(unknownVersion, 'devnet')).toMatchObject({ ok: false, problem: 'That is not a BSV address this wallet can pay.' })
  })

  it('calls empty and half-typed input incomplete (said on submit, not while typing)', () => {
    expect(checkAddress('', 'devnet')).toMatchObject({ ok: false, incomplete: true, problem: 'Enter the address to pay.' })
    expect(checkAddress(testnet.slice(0, 12), 'devnet')).toMatchObject({ ok: false, incomplete: true })
    expect(checkAddress('m x', 'devnet')).toMatchObject({ ok: false, incomplete: false })
  })
})
