import { describe, expect, it } from 'vitest'
import { FrameReader, FrameReaderError, concatFrames, encodeVarint, lengthPrefixed } from './framing.js'

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof FrameReaderError ? err.reason : `not a FrameReaderError: ${String(err)}`
  }
  return undefined
}

describe('framing', () => {
  it('encodes minimal varints and reads frames back across any split', () => {
    expect([...encodeVarint(0)]).toEqual([0])
    expect([...encodeVarint(127)]).toEqual([127])
    expect([...encodeVarint(128)]).toEqual([0x80, 1])
    expect([...encodeVarint(16_384)]).toEqual([0x80, 0x80, 1])
    const payloads = [new Uint8Array(0), new Uint8Array(200).fill(7), Uint8Array.from([1, 2, 3])]
    const stream = concatFrames(payloads.map(lengthPrefixed))
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(1024)
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))]
      expect(frames).toEqual(payloads)
      expect(reader.buffered).toBe(0)
    }
  })

  it('refuses a non-minimal length prefix (a length has one encoding)', () => {
    // 1 written as two bytes: 0x81 0x00.
    expect(reasonOf(() => new FrameReader(1024).push(Uint8Array.from([0x81, 0x00, 9])))).toBe('bad_length')
    // 0 written as two bytes.
    expect(reasonOf(() => new FrameReader(1024).push(Uint8Array.from([0x80, 0x00])))).toBe('bad_length')
  })

  it('refuses a length above the limit before any of the frame arrives', () => {
    const reader = new FrameReader(16 * 1024)
    expect(reasonOf(() => reader.push(encodeVarint(16 * 1024 + 1)))).toBe('too_large')
    // Exactly the limit is a frame.
    const ok = new FrameReader(16 * 1024)
    expect(ok.push(lengthPrefixed(new Uint8Array(16 * 1024)))).toHaveLength(1)
  })

  it('refuses a prefix longer than the limit can need, even before it ends', () => {
    // 16 KiB needs 3 prefix bytes; a fourth continuation byte is refused without waiting.
    expect(reasonOf(() => new FrameReader(16 * 1024).push(Uint8Array.from([0x80, 0x80, 0x80])))).toBe('too_large')
    expect(reasonOf(() => new FrameReader(16 * 1024).push(Uint8Array.from([0xff, 0xff])))).toBeUndefined()
  })
})
