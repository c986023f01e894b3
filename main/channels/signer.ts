// ECDSA over secp256k1 behind one small interface, with the fastest backend the runtime
// has: OpenSSL through node:crypto in Node, @noble/curves where the runtime's crypto lacks
// secp256k1 (Electron's BoringSSL), @bsv/sdk's own ECDSA as the reference.
//
// Why the interface takes `firstHash` and not the final digest: node:crypto cannot sign a
// precomputed digest with an EC key (crypto.sign(null, …) hashes with SHA-256, as
// 'sha256' does). Bitcoin signs hash256(preimage) = sha256(sha256(preimage)), so every
// backend is given sha256(preimage) and signs sha256 of it. @bsv/sdk's PrivateKey.sign
// and noble's `prehash: true` do exactly the same.
import { createHash, createPrivateKey, createPublicKey, getCurves, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { BigNumber, ECDSA, PrivateKey, PublicKey, Signature } from '@bsv/sdk'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { LRUCache } from 'lru-cache'
import { CURVE_ORDER, isCanonicalSignature, isPublicKeyEncoding, normaliseLowS } from './der.js'

export interface SignatureBackend {
  readonly name: BackendName
  /**
   * Signs the ECDSA digest sha256(firstHash). For a sighash, firstHash = sha256(preimage),
   * so the digest signed is Bitcoin's hash256(preimage). Returns strict DER with low S.
   */
  sign(firstHash: Uint8Array, privateKey32: Uint8Array): Uint8Array
  /**
   * True only for a strict-DER, low-S signature over sha256(firstHash) by this key
   * (33-byte compressed or 65-byte uncompressed). Never throws on malformed input.
   */
  verify(firstHash: Uint8Array, derSig: Uint8Array, publicKey33or65: Uint8Array): boolean
}

export type BackendName = 'openssl' | 'noble' | 'bsv-sdk'

/** Thrown for a private key outside [1, n−1] or not 32 bytes. */
export class InvalidPrivateKeyError extends Error {
  override readonly name = 'InvalidPrivateKeyError'
  constructor() {
    super('a private key must be 32 bytes and within [1, n-1]')
  }
}

function checkPrivateKey(key: Uint8Array): void {
  if (key.length !== 32) throw new InvalidPrivateKeyError()
  let v = 0n
  for (const b of key) v = (v << 8n) | BigInt(b)
  if (v === 0n || v >= CURVE_ORDER) throw new InvalidPrivateKeyError()
}

export function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest()
}

/** Compressed (default) or uncompressed public key of a 32-byte private key. */
/** A compressed or uncompressed secp256k1 public key that is a point on the curve (not merely well-formed bytes). */
export function isCurvePoint(pub: Uint8Array): boolean {
  if (!isPublicKeyEncoding(pub)) return false
  try {
    secp256k1.Point.fromBytes(pub).assertValidity()
    return true
  } catch {
    return false
  }
}

export function publicKeyOf(privateKey32: Uint8Array, compressed = true): Uint8Array {
  checkPrivateKey(privateKey32)
  return secp256k1.getPublicKey(privateKey32, compressed)
}

// SEC1 ECPrivateKey without the optional public key (OpenSSL does not need it to sign)
// and SubjectPublicKeyInfo for id-ecPublicKey / secp256k1 (1.3.132.0.10).
const SEC1_PREFIX = Buffer.from('302e0201010420', 'hex')
const SEC1_SUFFIX = Buffer.from('a00706052b8104000a', 'hex')
const SPKI_PREFIX_33 = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex')
const SPKI_PREFIX_65 = Buffer.from('3056301006072a8648ce3d020106052b8104000a034200', 'hex')

export interface OpenSslBackendInit {
  /** KeyObjects kept per private and per public key (default 256 each). */
  cacheSize?: number
}

function opensslAvailable(): boolean {
  return getCurves().includes('secp256k1')
}

export function createOpenSslBackend(init: OpenSslBackendInit = {}): SignatureBackend {
  if (!opensslAvailable()) throw new Error('this runtime has no secp256k1 in node:crypto')
  // Building a KeyObject costs ~0.2–0.7 ms, so each is kept per key (keyed by its hex).
  // An invalid public key is remembered as `false`: the cache holds no null.
  const max = init.cacheSize ?? 256
  const privateKeys = new LRUCache<string, KeyObject, Uint8Array>({
    max,
    memoMethod: (_hex, _stale, { context: key }) => {
      checkPrivateKey(key)
      return createPrivateKey({ key: Buffer.concat([SEC1_PREFIX, key, SEC1_SUFFIX]), format: 'der', type: 'sec1' })
    },
  })
  const publicKeys = new LRUCache<string, KeyObject | false, Uint8Array>({
    max,
    memoMethod: (_hex, _stale, { context: pub }) => {
      try {
        // OpenSSL refuses points that are not on the curve here.
        return createPublicKey({ key: Buffer.concat([pub.length === 33 ? SPKI_PREFIX_33 : SPKI_PREFIX_65, pub]), format: 'der', type: 'spki' })
      } catch {
        return false
      }
    },
  })
  const privateKeyObject = (key: Uint8Array): KeyObject => privateKeys.memo(Buffer.from(key).toString('hex'), { context: key })
  const publicKeyObject = (pub: Uint8Array): KeyObject | false => publicKeys.memo(Buffer.from(pub).toString('hex'), { context: pub })
  return {
    name: 'openssl',
    sign(firstHash, privateKey32) {
      const der = nodeSign('sha256', firstHash, { key: privateKeyObject(privateKey32), dsaEncoding: 'der' })
      return normaliseLowS(new Uint8Array(der.buffer, der.byteOffset, der.length))
    },
    verify(firstHash, derSig, pub) {
      if (!isCanonicalSignature(derSig) || !isPublicKeyEncoding(pub)) return false
      const key = publicKeyObject(pub)
      if (key === false) return false
      try {
        return nodeVerify('sha256', firstHash, { key, dsaEncoding: 'der' }, derSig)
      } catch {
        return false
      }
    },
  }
}

export function createNobleBackend(): SignatureBackend {
  return {
    name: 'noble',
    sign(firstHash, privateKey32) {
      checkPrivateKey(privateKey32)
      return secp256k1.sign(firstHash, privateKey32, { prehash: true, lowS: true, format: 'der' })
    },
    verify(firstHash, derSig, pub) {
      if (!isCanonicalSignature(derSig) || !isPublicKeyEncoding(pub)) return false
      try {
        return secp256k1.verify(derSig, firstHash, pub, { prehash: true, lowS: true, format: 'der' })
      } catch {
        return false
      }
    },
  }
}

/** @bsv/sdk's pure-JS ECDSA: the slowest, kept as the reference the others are checked against. */
export function createBsvSdkBackend(): SignatureBackend {
  return {
    name: 'bsv-sdk',
    sign(firstHash, privateKey32) {
      checkPrivateKey(privateKey32)
      const sig = new PrivateKey(Array.from(privateKey32)).sign(Array.from(firstHash), undefined, true)
      return Uint8Array.from(sig.toDER() as number[])
    },
    verify(firstHash, derSig, pub) {
      if (!isCanonicalSignature(derSig) || !isPublicKeyEncoding(pub)) return false
      try {
        const key = PublicKey.fromDER(Array.from(pub))
        const digest = new BigNumber(Array.from(sha256(firstHash)))
        return ECDSA.verify(digest, Signature.fromDER(Array.from(derSig)), key)
      } catch {
        return false
      }
    },
  }
}

/** OpenSSL when node:crypto knows secp256k1, else @noble/curves; or the one named. */
export function selectBackend(preferred?: BackendName): SignatureBackend {
  switch (preferred) {
    case 'openssl':
      return createOpenSslBackend()
    case 'noble':
      return createNobleBackend()
    case 'bsv-sdk':
      return createBsvSdkBackend()
    case undefined:
      return opensslAvailable() ? createOpenSslBackend() : createNobleBackend()
  }
}
