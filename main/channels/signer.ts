// ECDSA over secp256k1 behind one small interface, with the fastest backend the runtime
// has: libsecp256k1 (Bitcoin Core's library, through the `secp256k1` package's prebuilt
// N-API addon: ~0.04 ms to sign, ~0.05 ms to verify), else OpenSSL through node:crypto
// (~0.3 ms each: its secp256k1 is the generic prime-curve code), else @noble/curves where
// the runtime's crypto lacks secp256k1 (Electron's BoringSSL); @bsv/sdk's own ECDSA is the
// reference the others are checked against.
//
// Why the interface takes `firstHash` and not the final digest: node:crypto cannot sign a
// precomputed digest with an EC key (crypto.sign(null, …) hashes with SHA-256, as
// 'sha256' does). Bitcoin signs hash256(preimage) = sha256(sha256(preimage)), so every
// backend is given sha256(preimage) and signs sha256 of it. @bsv/sdk's PrivateKey.sign
// and noble's `prehash: true` do exactly the same.
import { createRequire } from 'node:module'
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

export type BackendName = 'libsecp256k1' | 'openssl' | 'noble' | 'bsv-sdk'

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
  // Building a KeyObject costs ~0.2–0.7 ms, so each is kept per key (keyed by its hex);
  // sized for a node with a few thousand channels, whose turns visit every key in a round
  // (an LRU smaller than the round misses every time and doubles the cost of a signature).
  // An invalid public key is remembered as `false`: the cache holds no null.
  const max = init.cacheSize ?? 4_096
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

/** The part of the `secp256k1` package's native API used here (its JS wrapper validates lengths and throws). */
interface Libsecp256k1 {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaVerify(sig64: Uint8Array, msg32: Uint8Array, pubkey: Uint8Array): boolean
  signatureExport(sig64: Uint8Array): Uint8Array
  signatureImport(der: Uint8Array): Uint8Array
}

let libsecp: { api: Libsecp256k1 } | { error: Error } | undefined

/**
 * The native addon, loaded once. `secp256k1/bindings.js` and not the package's main entry:
 * the main entry falls back to the pure-JS `elliptic` without a word, which is slower
 * than OpenSSL; here a missing addon (no prebuild for this platform) is a reason to log.
 */
function loadLibsecp256k1(): { api: Libsecp256k1 } | { error: Error } {
  if (libsecp === undefined) {
    try {
      libsecp = { api: createRequire(import.meta.url)('secp256k1/bindings.js') as Libsecp256k1 }
    } catch (err) {
      libsecp = { error: err instanceof Error ? err : new Error(String(err)) }
    }
  }
  return libsecp
}

/** Why the libsecp256k1 backend cannot run here, or null when it can. */
export function libsecp256k1Unavailable(): Error | null {
  const loaded = loadLibsecp256k1()
  return 'error' in loaded ? loaded.error : null
}

export function createLibsecp256k1Backend(): SignatureBackend {
  const loaded = loadLibsecp256k1()
  if ('error' in loaded) throw new Error('the libsecp256k1 addon does not load here', { cause: loaded.error })
  const lib = loaded.api
  return {
    name: 'libsecp256k1',
    sign(firstHash, privateKey32) {
      checkPrivateKey(privateKey32)
      // RFC 6979 nonces; libsecp256k1 always returns the low-S form.
      return lib.signatureExport(lib.ecdsaSign(sha256(firstHash), privateKey32).signature)
    },
    verify(firstHash, derSig, pub) {
      // Bitcoin's rules (BIP 66 encoding, low S, r and s in range) first: the addon checks only its own.
      if (!isCanonicalSignature(derSig) || !isPublicKeyEncoding(pub)) return false
      try {
        // Throws for a key that is not a point on the curve.
        return lib.ecdsaVerify(lib.signatureImport(derSig), sha256(firstHash), pub)
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

/**
 * selectBackend's choice, made on first use: loading the native addon (node-gyp-build's
 * search, then dlopen: ~7 ms) stays off the start path. `onChosen` hears which, once.
 */
export function lazyBackend(onChosen: (backend: SignatureBackend) => void): SignatureBackend {
  let chosen: SignatureBackend | null = null
  const backend = (): SignatureBackend => {
    if (chosen === null) {
      chosen = selectBackend()
      onChosen(chosen)
    }
    return chosen
  }
  return {
    get name() {
      return backend().name
    },
    sign: (firstHash, privateKey32) => backend().sign(firstHash, privateKey32),
    verify: (firstHash, derSig, pub) => backend().verify(firstHash, derSig, pub),
  }
}

/** libsecp256k1 where its addon loads, else OpenSSL where node:crypto knows secp256k1, else @noble/curves; or the one named. */
export function selectBackend(preferred?: BackendName): SignatureBackend {
  switch (preferred) {
    case 'libsecp256k1':
      return createLibsecp256k1Backend()
    case 'openssl':
      return createOpenSslBackend()
    case 'noble':
      return createNobleBackend()
    case 'bsv-sdk':
      return createBsvSdkBackend()
    case undefined:
      if (libsecp256k1Unavailable() === null) return createLibsecp256k1Backend()
      return opensslAvailable() ? createOpenSslBackend() : createNobleBackend()
  }
}
