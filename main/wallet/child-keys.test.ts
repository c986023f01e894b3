import { randomBytes } from 'node:crypto'
import { HD } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { ChildIndexError, ChildKeys } from './child-keys.js'
import { WalletKeys, generateMnemonic } from './mnemonic.js'

describe('ChildKeys', () => {
  it('derives what @bsv/sdk HD.deriveChild derives: keys and addresses, over random parents and indices', () => {
    const deadline = Date.now() + 30_000
    for (let p = 0; p < 6 && Date.now() < deadline; p++) {
      const parent = HD.fromSeed([...randomBytes(64)]).derive("m/44'/1'/0'").deriveChild(p % 2)
      const fast = new ChildKeys(parent)
      const indices = [0, 1, 2, 19, 20, 255, 256, 65_535, 1_000_000, 0x7fffffff, ...Array.from({ length: 10 }, () => randomBytes(4).readUInt32BE() & 0x7fffffff)]
      for (const i of indices) {
        const child = parent.deriveChild(i)
        expect(Buffer.from(fast.privateKey(i)).toString('hex')).toBe(child.privKey.toHex().padStart(64, '0'))
        for (const prefix of [0x00, 0x6f]) expect(fast.address(i, prefix)).toBe(child.pubKey.toAddress([prefix]))
      }
    }
  })

  it('WalletKeys gives the SDK path\'s keys for receive, change and channel chains', () => {
    const words = generateMnemonic()
    const keys = new WalletKeys(words, 'testnet')
    const seed = [...(keys as unknown as { seed: Uint8Array }).seed]
    const root = HD.fromSeed(seed)
    for (const i of [0, 1, 7, 100]) {
      expect(keys.privateKey(0, i).toHex()).toBe(root.derive(`m/44'/1'/0'/0/${i}`).privKey.toHex())
      expect(keys.privateKey(1, i).toHex()).toBe(root.derive(`m/44'/1'/0'/1/${i}`).privKey.toHex())
      expect(keys.channelPrivateKey(i).toHex()).toBe(root.derive(`m/44'/1'/1'/0/${i}`).privKey.toHex())
      expect(keys.address(0, i)).toBe(root.derive(`m/44'/1'/0'/0/${i}`).pubKey.toAddress([0x6f]))
    }
  })

  it('refuses hardened, negative and fractional indices', () => {
    const fast = new ChildKeys(HD.fromSeed([...randomBytes(64)]))
    for (const bad of [-1, 0x80000000, 1.5, Number.NaN]) expect(() => fast.privateKey(bad)).toThrow(ChildIndexError)
  })
})
