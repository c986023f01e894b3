import { createHmac } from 'node:crypto'
import { type HD, Hash, Utils } from '@bsv/sdk'
import { secp256k1 } from '@noble/curves/secp256k1.js'

/** Order of the secp256k1 group. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** Thrown for an index that is not a non-hardened BIP32 index. */
export class ChildIndexError extends RangeError {
  override readonly name = 'ChildIndexError'
}

/**
 * The non-hardened children of one BIP32 node (an address chain, the channel chain): what
 * `HD.deriveChild(i).privKey` gives, without what makes that cost 2–3 ms a key. @bsv/sdk
 * builds every child as a full HD node, with its public key multiplied out in JavaScript;
 * a wallet signing a funding derives one key per input, and one node with a thousand
 * channels derives one per channel. Here a child is one HMAC and one addition (BIP32
 * CKDpriv), and an address's public key comes from @noble/curves' precomputed tables.
 * Checked against the SDK's derivation in child-keys.test.ts.
 */
export class ChildKeys {
  private readonly chainCode: Buffer
  private readonly parentPub: Buffer
  private readonly parentKey: bigint

  constructor(parent: HD) {
    this.chainCode = Buffer.from(parent.chainCode)
    this.parentPub = Buffer.from(parent.pubKey.encode(true) as number[])
    this.parentKey = BigInt(`0x${parent.privKey.toHex().padStart(64, '0')}`)
  }

  privateKey(index: number): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) throw new ChildIndexError(`a child index is an integer from 0 to 2^31 - 1, not ${index}`)
    const data = Buffer.alloc(37)
    this.parentPub.copy(data)
    data.writeUInt32BE(index, 33)
    const i = createHmac('sha512', this.chainCode).update(data).digest()
    const il = BigInt(`0x${i.subarray(0, 32).toString('hex')}`)
    const k = (il + this.parentKey) % N
    // BIP32 skips such an index; the chance is below 2^-127, so this says so rather than skip.
    if (il >= N || k === 0n) throw new ChildIndexError(`BIP32 child ${index} is not a valid key`)
    return Uint8Array.from(Buffer.from(k.toString(16).padStart(64, '0'), 'hex'))
  }

  /** The P2PKH address (compressed key) of child `index`, under version byte `prefix`. */
  address(index: number, prefix: number): string {
    const pub = secp256k1.getPublicKey(this.privateKey(index), true)
    return Utils.toBase58Check(Hash.hash160(Array.from(pub)), [prefix])
  }
}
