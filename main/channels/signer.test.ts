import { randomBytes, sign as nodeSign, createPrivateKey } from 'node:crypto'
import { BigNumber, ECDSA, Hash, PublicKey, Signature } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { CURVE_ORDER, encodeDer, isLowS, isStrictDer, parseDer } from './der.js'
import { type SignatureBackend, createBsvSdkBackend, createLibsecp256k1Backend, createNobleBackend, createOpenSslBackend, InvalidPrivateKeyError, lazyBackend, libsecp256k1Unavailable, publicKeyOf, selectBackend, sha256 } from './signer.js'

const backends: SignatureBackend[] = [createLibsecp256k1Backend(), createOpenSslBackend(), createNobleBackend(), createBsvSdkBackend()]

function randomKey(): Uint8Array {
  for (;;) {
    const k = randomBytes(32)
    const v = BigInt(`0x${k.toString('hex')}`)
    if (v > 0n && v < CURVE_ORDER) return new Uint8Array(k)
  }
}

/** @bsv/sdk's own verifier on Bitcoin's digest hash256(preimage) = sha256(firstHash). */
function sdkVerifies(firstHash: Uint8Array, der: Uint8Array, pub: Uint8Array): boolean {
  const digest = new BigNumber(Array.from(sha256(firstHash)))
  return ECDSA.verify(digest, Signature.fromDER(Array.from(der)), PublicKey.fromDER(Array.from(pub)))
}

function highSTwin(der: Uint8Array): Uint8Array {
  const { r, s } = parseDer(der)!
  return encodeDer(r, CURVE_ORDER - s)
}

describe('signature backends', () => {
  it('selectBackend takes libsecp256k1 where its addon loads (it does on this platform), and the one named', () => {
    expect(libsecp256k1Unavailable()).toBeNull()
    expect(selectBackend().name).toBe('libsecp256k1')
    expect(selectBackend('openssl').name).toBe('openssl')
    expect(selectBackend('noble').name).toBe('noble')
  })

  it('lazyBackend chooses on first use, says which once, and signs like the one it chose', () => {
    const heard: string[] = []
    const lazy = lazyBackend((b) => heard.push(b.name))
    expect(heard).toEqual([])
    const priv = randomKey()
    const firstHash = sha256(randomBytes(32))
    const der = lazy.sign(firstHash, priv)
    expect(heard).toEqual(['libsecp256k1'])
    expect(lazy.name).toBe('libsecp256k1')
    expect(lazy.verify(firstHash, der, publicKeyOf(priv))).toBe(true)
    expect(createBsvSdkBackend().verify(firstHash, der, publicKeyOf(priv))).toBe(true)
    expect(heard).toEqual(['libsecp256k1'])
  })

  for (const backend of backends) {
    const rounds = backend.name === 'bsv-sdk' ? 100 : 800
    it(`${backend.name}: ${rounds} random keys and digests verify under @bsv/sdk and every other backend, always strict DER and low S`, () => {
      const deadline = Date.now() + 40_000
      for (let i = 0; i < rounds && Date.now() < deadline; i++) {
        const priv = randomKey()
        const pub = publicKeyOf(priv, i % 5 !== 0)
        const preimage = randomBytes(1 + (i % 200))
        const firstHash = sha256(preimage)
        const der = backend.sign(firstHash, priv)
        expect(isStrictDer(der)).toBe(true)
        expect(isLowS(der)).toBe(true)
        // The digest signed is Bitcoin's hash256 of the preimage.
        const digest = new BigNumber(Hash.hash256(Array.from(preimage)))
        expect(ECDSA.verify(digest, Signature.fromDER(Array.from(der)), PublicKey.fromDER(Array.from(pub)))).toBe(true)
        // Cross-verify by the fast backends every time (the reference already did above).
        for (const other of backends) if (other.name !== 'bsv-sdk' || i % 50 === 0) expect(other.verify(firstHash, der, pub)).toBe(true)
      }
    })
  }

  it('@bsv/sdk signatures verify under libsecp256k1, OpenSSL and noble', () => {
    const sdk = createBsvSdkBackend()
    for (let i = 0; i < 100; i++) {
      const priv = randomKey()
      const pub = publicKeyOf(priv)
      const firstHash = sha256(randomBytes(32))
      const der = sdk.sign(firstHash, priv)
      expect(sdkVerifies(firstHash, der, pub)).toBe(true)
      for (const b of backends) expect(b.verify(firstHash, der, pub)).toBe(true)
    }
  })

  for (const backend of backends) {
    it(`${backend.name}: refuses a wrong key, a wrong digest, a flipped bit, a high-S twin, padded DER and garbage`, () => {
      for (let i = 0; i < 20; i++) {
        const priv = randomKey()
        const pub = publicKeyOf(priv)
        const firstHash = sha256(randomBytes(32))
        const der = backend.sign(firstHash, priv)
        expect(backend.verify(firstHash, der, pub)).toBe(true)
        expect(backend.verify(firstHash, der, publicKeyOf(randomKey()))).toBe(false)
        expect(backend.verify(sha256(randomBytes(32)), der, pub)).toBe(false)
        const flipped = Uint8Array.from(der)
        flipped[flipped.length - 1 - (i % 20)]! ^= 1 << i % 8
        expect(backend.verify(firstHash, flipped, pub)).toBe(false)

        // The high-S twin is mathematically valid (the reference accepts it) but not standard.
        const high = highSTwin(der)
        expect(sdkVerifies(firstHash, high, pub)).toBe(true)
        expect(isLowS(high)).toBe(false)
        expect(backend.verify(firstHash, high, pub)).toBe(false)

        // A superfluous zero in front of r: BER, not strict DER.
        const lenR = der[3]!
        const padded = Uint8Array.from([0x30, der[1]! + 1, 0x02, lenR + 1, 0x00, ...der.subarray(4)])
        expect(isStrictDer(padded)).toBe(false)
        expect(backend.verify(firstHash, padded, pub)).toBe(false)

        expect(backend.verify(firstHash, new Uint8Array(0), pub)).toBe(false)
        expect(backend.verify(firstHash, randomBytes(71), pub)).toBe(false)
        expect(backend.verify(firstHash, der, pub.subarray(1))).toBe(false)
        // x = 2^256 − 1 is beyond the field prime: no such point.
        const notOnCurve = Uint8Array.from([0x02, ...new Uint8Array(32).fill(0xff)])
        expect(backend.verify(firstHash, der, notOnCurve)).toBe(false)
      }
    })

    it(`${backend.name}: refuses private keys outside [1, n-1]`, () => {
      const firstHash = sha256(randomBytes(32))
      expect(() => backend.sign(firstHash, new Uint8Array(32))).toThrow(InvalidPrivateKeyError)
      const n = Buffer.from(CURVE_ORDER.toString(16), 'hex')
      expect(() => backend.sign(firstHash, new Uint8Array(n))).toThrow(InvalidPrivateKeyError)
      expect(() => backend.sign(firstHash, new Uint8Array(31).fill(1))).toThrow(InvalidPrivateKeyError)
    })
  }

  it('OpenSSL alone produces high S about half the time, which the backend normalises', () => {
    const priv = randomKey()
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e0201010420', 'hex'), priv, Buffer.from('a00706052b8104000a', 'hex')]), format: 'der', type: 'sec1' })
    let high = 0
    for (let i = 0; i < 200; i++) if (!isLowS(new Uint8Array(nodeSign('sha256', randomBytes(32), { key, dsaEncoding: 'der' })))) high++
    expect(high).toBeGreaterThan(40)
    const openssl = createOpenSslBackend()
    for (let i = 0; i < 200; i++) expect(isLowS(openssl.sign(sha256(randomBytes(32)), priv))).toBe(true)
  })

  it('the OpenSSL key cache stays bounded and keeps working past its size', () => {
    const openssl = createOpenSslBackend({ cacheSize: 4 })
    const keys = Array.from({ length: 10 }, randomKey)
    for (let round = 0; round < 3; round++) {
      for (const priv of keys) {
        const firstHash = sha256(randomBytes(32))
        expect(openssl.verify(firstHash, openssl.sign(firstHash, priv), publicKeyOf(priv))).toBe(true)
      }
    }
  })
})

describe('DER helpers', () => {
  it('encode and parse round-trip minimal integers, including top-bit padding', () => {
    for (const [r, s] of [[1n, 1n], [0x80n, 0x7fn], [CURVE_ORDER - 1n, CURVE_ORDER >> 1n], [0xff00n, 0x0100n]] as const) {
      const der = encodeDer(r, s)
      expect(isStrictDer(der)).toBe(true)
      expect(parseDer(der)).toEqual({ r, s })
      expect(Signature.fromDER(Array.from(der)).r.toString(16)).toBe(r.toString(16))
    }
  })

  it('refuses negative integers, wrong lengths and trailing bytes', () => {
    const good = encodeDer(5n, 7n)
    expect(isStrictDer(Uint8Array.from([...good, 0]))).toBe(false)
    const negative = Uint8Array.from(good)
    negative[4] = 0x85
    expect(isStrictDer(negative)).toBe(false)
    const badLen = Uint8Array.from(good)
    badLen[1] = badLen[1]! + 1
    expect(isStrictDer(badLen)).toBe(false)
  })
})
