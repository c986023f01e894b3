// Bitcoin's signature encoding rules (BIP 66 strict DER, low S), on the bare DER
// signature (without the trailing sighash byte that scripts carry).

/** Order of the secp256k1 group. */
export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HALF_ORDER = CURVE_ORDER >> 1n

/**
 * BIP 66 IsValidSignatureEncoding with every length one less, because the sighash byte
 * is not part of `der`: minimal lengths, positive integers, no superfluous zero padding.
 */
export function isStrictDer(der: Uint8Array): boolean {
  const len = der.length
  if (len < 8 || len > 72) return false
  if (der[0] !== 0x30 || der[1] !== len - 2) return false
  if (der[2] !== 0x02) return false
  const lenR = der[3]!
  if (lenR === 0 || 5 + lenR >= len) return false
  const lenS = der[5 + lenR]!
  if (lenR + lenS + 6 !== len) return false
  if (der[4]! & 0x80) return false
  if (lenR > 1 && der[4] === 0 && !(der[5]! & 0x80)) return false
  if (der[lenR + 4] !== 0x02) return false
  if (lenS === 0) return false
  if (der[lenR + 6]! & 0x80) return false
  if (lenS > 1 && der[lenR + 6] === 0 && !(der[lenR + 7]! & 0x80)) return false
  return true
}

function readInt(bytes: Uint8Array): bigint {
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  return v
}

/** r and s of a strict-DER signature, or null when it is not strict DER. */
export function parseDer(der: Uint8Array): { r: bigint; s: bigint } | null {
  if (!isStrictDer(der)) return null
  const lenR = der[3]!
  const r = readInt(der.subarray(4, 4 + lenR))
  const s = readInt(der.subarray(6 + lenR))
  return { r, s }
}

function intBytes(v: bigint): number[] {
  const out: number[] = []
  while (v > 0n) {
    out.unshift(Number(v & 0xffn))
    v >>= 8n
  }
  if (out.length === 0) out.push(0)
  // A set top bit would read as negative: DER needs one zero byte in front.
  if (out[0]! & 0x80) out.unshift(0)
  return out
}

export function encodeDer(r: bigint, s: bigint): Uint8Array {
  const rb = intBytes(r)
  const sb = intBytes(s)
  return Uint8Array.from([0x30, rb.length + sb.length + 4, 0x02, rb.length, ...rb, 0x02, sb.length, ...sb])
}

/** s ≤ n/2: the only form BSV's standardness rules (LOW_S) accept for version-1 transactions. */
export function isLowS(der: Uint8Array): boolean {
  const parsed = parseDer(der)
  return parsed !== null && parsed.s >= 1n && parsed.s <= HALF_ORDER
}

/**
 * The low-S twin of a valid signature ((r, n − s) verifies wherever (r, s) does).
 * OpenSSL picks either form at random; nodes relay only the low one.
 */
export function normaliseLowS(der: Uint8Array): Uint8Array {
  const parsed = parseDer(der)
  if (parsed === null) throw new RangeError('not a strict DER signature')
  if (parsed.s <= HALF_ORDER) return der
  return encodeDer(parsed.r, CURVE_ORDER - parsed.s)
}

/** r and s inside [1, n−1], strict DER, low S: what every backend demands before verifying. */
export function isCanonicalSignature(der: Uint8Array): boolean {
  const parsed = parseDer(der)
  if (parsed === null) return false
  const { r, s } = parsed
  return r >= 1n && r < CURVE_ORDER && s >= 1n && s <= HALF_ORDER
}

/** A compressed (33 bytes, 02/03) or uncompressed (65 bytes, 04) SEC1 point encoding. */
export function isPublicKeyEncoding(pub: Uint8Array): boolean {
  if (pub.length === 33) return pub[0] === 0x02 || pub[0] === 0x03
  if (pub.length === 65) return pub[0] === 0x04
  return false
}
