import { createHash, randomBytes } from 'node:crypto'

/**
 * A UUIDv7: 48 bits of milliseconds, then randomness. Ids from one sender grow with
 * time, so the receiver's (peer, direction, id) index is appended to rather than written
 * all over, which keeps the pages each group commit dirties (and fsyncs) few.
 */
const POOL_IDS = 256
let pool = Buffer.alloc(0)
let poolOffset = 0

/** Entropy drawn in blocks: one call into the CSPRNG per 256 ids instead of one per id. */
function random16(): Buffer {
  if (poolOffset + 16 > pool.byteLength) {
    pool = randomBytes(16 * POOL_IDS)
    poolOffset = 0
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + 16))
  poolOffset += 16
  return out
}

export function newMessageId(now = Date.now()): string {
  const bytes = random16()
  let ms = now
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The id of a keyed send: the same key, peer and text always give the same id, so a retry
 * whose first attempt reached the peer is stored there once (the receiver keeps one row
 * per sender and id).
 */
export function keyedMessageId(key: string, peerId: string, text: string): string {
  return createHash('sha256').update(key).update('\0').update(peerId).update('\0').update(text).digest('base64url').slice(0, 32)
}
