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
