// Varint length-prefixed framing, the one implementation both wire protocols use (direct
// messages and payment channels). Strict on purpose: a length has exactly one encoding (a
// non-minimal prefix is refused), and a prefix announcing more than the limit is refused
// before a byte of its frame is buffered. `it-length-prefixed` decodes non-minimal
// prefixes and works on async iterables, while our streams push chunks to a handler.
import { Uint8ArrayList } from 'uint8arraylist'

export type FrameReaderErrorReason = 'too_large' | 'bad_length'

/** The byte stream cannot be framed any more; the stream must be reset. */
export class FrameReaderError extends Error {
  override readonly name = 'FrameReaderError'
  constructor(
    readonly reason: FrameReaderErrorReason,
    message: string,
  ) {
    super(message)
  }
}

/** Unsigned LEB128 varint, the length prefix libp2p protocols use (always minimal). */
export function encodeVarint(value: number): Uint8Array {
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** A payload with its length prefix, ready to write. */
export function lengthPrefixed(payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.byteLength)
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix, 0)
  out.set(payload, prefix.byteLength)
  return out
}

/** Several encoded frames as one buffer: one write, one muxer frame. */
export function concatFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]!
  let size = 0
  for (const f of frames) size += f.byteLength
  const out = new Uint8Array(size)
  let offset = 0
  for (const f of frames) {
    out.set(f, offset)
    offset += f.byteLength
  }
  return out
}

/**
 * Splits a byte stream into varint length-prefixed frames. Pure and synchronous: feed it
 * chunks as they arrive, get back every complete frame. It never holds more than one
 * frame plus its prefix, because a prefix announcing more than `maxFrameBytes` throws
 * before any of that frame is buffered; chunks are kept as a list and joined once per
 * frame, so a peer trickling a frame byte by byte costs linear, not quadratic, work.
 */
export class FrameReader {
  private readonly pending = new Uint8ArrayList()
  private readonly maxPrefixBytes: number

  constructor(readonly maxFrameBytes: number) {
    let bytes = 1
    for (let v = maxFrameBytes; v >= 0x80; v = Math.floor(v / 128)) bytes++
    this.maxPrefixBytes = bytes
  }

  /** Bytes received that do not yet make a whole frame (a truncated frame if the stream ends). */
  get buffered(): number {
    return this.pending.byteLength
  }

  /** Returns the complete frames (copies, safe to keep); throws FrameReaderError on a bad prefix. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    const pending = this.pending
    pending.append(chunk)
    const frames: Uint8Array[] = []
    while (pending.byteLength > 0) {
      let length = 0
      let shift = 1
      let pos = 0
      let complete = false
      const available = pending.byteLength
      while (pos < available) {
        const b = pending.get(pos)
        pos++
        length += (b & 0x7f) * shift
        if ((b & 0x80) === 0) {
          // A length has one encoding: a longer one (a trailing zero group) is refused.
          if (pos > 1 && b === 0) throw new FrameReaderError('bad_length', 'non-minimal frame length prefix')
          complete = true
          break
        }
        shift *= 128
        if (pos >= this.maxPrefixBytes) throw new FrameReaderError('too_large', `frame length prefix longer than ${this.maxPrefixBytes} bytes`)
      }
      if (!complete) break
      if (length > this.maxFrameBytes) throw new FrameReaderError('too_large', `frame of ${length} bytes exceeds ${this.maxFrameBytes}`)
      if (available - pos < length) break
      frames.push(pending.slice(pos, pos + length))
      pending.consume(pos + length)
    }
    return frames
  }
}
