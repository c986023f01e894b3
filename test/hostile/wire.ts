// The channel wire (docs/protocol.md, "/bsv-p2p/channel/2.0.0") written again from the
// spec, on purpose without main/channels/protocol.ts: a hostile peer that shared the
// engine's encoder would share its bugs, and could not say anything the encoder refuses.

export const CHANNEL_PROTOCOL_ID = '/bsv-p2p/channel/2.0.0'
const MAX_FRAME_BYTES = 16 * 1024
/** A length prefix is at most 4 varint bytes (2^28 − 1 > 16 KiB, so 3 would do). */
const MAX_PREFIX_BYTES = 4

export type FrameKind = 'propose' | 'accept' | 'reject' | 'signRefund' | 'funded' | 'pay' | 'sync' | 'close'
const FRAME_KINDS: readonly FrameKind[] = ['propose', 'accept', 'reject', 'signRefund', 'funded', 'pay', 'sync', 'close']

/** A request as it goes on the wire (its `id` is added by whoever sends it). */
export type WireRequest = { t: FrameKind; channelId: string } & Record<string, unknown>
export type WireAnswer = { t: 'res'; id: number; result: Record<string, unknown> } | { t: 'err'; id: number; code: string; message: string }

/** Unsigned LEB128, minimal. */
export function varint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a length: ${n}`)
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** Length-prefixed bytes, whatever they are (the raw path for malformed input). */
export function frameBytes(payload: Uint8Array): Uint8Array {
  return concat(varint(payload.byteLength), payload)
}

export function encode(value: unknown): Uint8Array {
  return frameBytes(new TextEncoder().encode(JSON.stringify(value)))
}

class FramingError extends Error {
  override readonly name = 'FramingError'
}

/**
 * Splits received bytes into frame payloads. Refuses what the spec says resets a stream:
 * a length above 16 KiB, a non-minimal length, a prefix longer than 4 bytes.
 */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0)

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.byteLength === 0 ? chunk.slice() : concat(this.buf, chunk)
    const frames: Uint8Array[] = []
    for (;;) {
      let len = 0
      let scale = 1
      let used = 0
      let done = false
      while (used < this.buf.byteLength && used < MAX_PREFIX_BYTES) {
        const b = this.buf[used++]!
        len += (b & 0x7f) * scale
        scale *= 0x80
        if ((b & 0x80) === 0) {
          if (b === 0 && used > 1) throw new FramingError('non-minimal length prefix')
          done = true
          break
        }
      }
      if (!done) {
        if (used >= MAX_PREFIX_BYTES) throw new FramingError('length prefix too long')
        return frames
      }
      if (len > MAX_FRAME_BYTES) throw new FramingError(`frame of ${len} bytes`)
      if (this.buf.byteLength - used < len) return frames
      frames.push(this.buf.slice(used, used + len))
      this.buf = this.buf.slice(used + len)
    }
  }
}

export function decodeJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as unknown
  } catch {
    return undefined
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** An answer frame, or null when the bytes are not one (the spec's shape, strictly). */
export function parseAnswer(v: unknown): WireAnswer | null {
  if (!isRecord(v) || typeof v.id !== 'number' || !Number.isSafeInteger(v.id) || v.id < 0) return null
  const keys = Object.keys(v).sort().join(',')
  if (v.t === 'res' && keys === 'id,result,t' && isRecord(v.result)) return { t: 'res', id: v.id, result: v.result }
  if (v.t === 'err' && keys === 'code,id,message,t' && typeof v.code === 'string' && typeof v.message === 'string' && v.message.length <= 1000) return { t: 'err', id: v.id, code: v.code, message: v.message }
  return null
}

/** A request frame as far as the envelope goes (kind, id, channel); the rest is the script's to judge. */
export function parseRequest(v: unknown): (WireRequest & { id: number }) | null {
  if (!isRecord(v) || typeof v.id !== 'number' || !Number.isSafeInteger(v.id) || v.id < 0) return null
  if (typeof v.t !== 'string' || !(FRAME_KINDS as readonly string[]).includes(v.t)) return null
  if (typeof v.channelId !== 'string' || !/^[0-9a-f]{32}$/.test(v.channelId)) return null
  return v as WireRequest & { id: number }
}
