// Generated inputs for the peer protocols: varint length-prefixed JSON frames (messaging,
// channels) and gossip announcement payloads. Most are valid frames mutated field by field,
// the rest random JSON, broken JSON, random bytes, bad UTF-8 and broken framing.
import { type Json, brokenJsonText, mutate, randomJson } from './json-mutator.js'
import type { Prng } from './prng.js'

export interface WireInput {
  bytes: Uint8Array
  /** Breaks the framing (oversized or malformed length, cut short): the stream ends after it. */
  fatal: boolean
  kind: string
}

function varint(n: number): Uint8Array {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v % 128) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Uint8Array.from(out)
}

function framed(payload: Uint8Array): Uint8Array {
  const prefix = varint(payload.byteLength)
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix)
  out.set(payload, prefix.byteLength)
  return out
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A payload that is not valid UTF-8 (lone continuation bytes, overlong forms, surrogates). */
function badUtf8(r: Prng): Uint8Array {
  const json = utf8(`{"t":"msg","id":"abcdefgh${r.int(1e6)}","text":"`)
  const bad = r.pick([[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]])
  return Uint8Array.from([...json, ...bad, ...utf8('","sentAt":1}')])
}

/** Payload bytes for one input, before framing. */
function payloadInput(r: Prng, valid: () => Json): { payload: Uint8Array; kind: string } {
  const roll = r.int(100)
  if (roll < 8) return { payload: utf8(JSON.stringify(valid())), kind: 'valid' }
  if (roll < 58) return { payload: utf8(JSON.stringify(mutate(r, valid()))), kind: 'mutated' }
  if (roll < 70) return { payload: utf8(JSON.stringify(randomJson(r))), kind: 'random-json' }
  if (roll < 82) return { payload: utf8(brokenJsonText(r, valid())), kind: 'broken-json' }
  if (roll < 94) return { payload: r.bytes(r.between(0, 300)), kind: 'random-bytes' }
  return { payload: badUtf8(r), kind: 'bad-utf8' }
}

/** One input for a length-prefixed JSON protocol whose frames may be up to `maxFrameBytes`. */
function frameInput(r: Prng, valid: () => Json, maxFrameBytes: number): WireInput {
  const roll = r.int(100)
  if (roll < 4) {
    // A length beyond the limit, up to what a varint of 5 bytes says.
    const len = r.chance(0.5) ? maxFrameBytes + 1 + r.int(1000) : r.between(maxFrameBytes + 1, 2 ** 32)
    return { bytes: Uint8Array.from([...varint(len), ...r.bytes(r.int(64))]), fatal: true, kind: 'oversized-length' }
  }
  if (roll < 6) return { bytes: Uint8Array.from(Array.from({ length: r.between(5, 12) }, () => 0x80 | r.int(128))), fatal: true, kind: 'bad-varint' }
  if (roll < 8) {
    // A frame cut short: the stream ends inside it.
    const whole = framed(utf8(JSON.stringify(valid())))
    return { bytes: whole.subarray(0, r.between(1, whole.byteLength - 1)), fatal: true, kind: 'truncated' }
  }
  const { payload, kind } = payloadInput(r, valid)
  return { bytes: framed(payload), fatal: payload.byteLength > maxFrameBytes, kind }
}

/** Inputs for one stream: up to `count`, ending early at the first that breaks the framing. */
export function streamBatch(r: Prng, valid: () => Json, maxFrameBytes: number, count: number): WireInput[] {
  const out: WireInput[] = []
  while (out.length < count) {
    const input = frameInput(r, valid, maxFrameBytes)
    out.push(input)
    if (input.fatal) break
  }
  return out
}

/** The bytes of a batch cut at random points: the reader must reassemble frames across chunks. */
export function chunked(r: Prng, inputs: readonly WireInput[]): Uint8Array[] {
  const total = inputs.reduce((s, i) => s + i.bytes.byteLength, 0)
  const all = new Uint8Array(total)
  let at = 0
  for (const i of inputs) {
    all.set(i.bytes, at)
    at += i.bytes.byteLength
  }
  const cuts = Array.from({ length: r.int(6) }, () => r.int(total)).sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const cut of [...cuts, total]) {
    if (cut > from) chunks.push(all.subarray(from, cut))
    from = Math.max(from, cut)
  }
  return chunks
}

/** Payload bytes for one gossip announcement input (the gossipsub envelope itself is valid and signed). */
export function announcementInput(r: Prng, valid: () => Json, maxBytes: number): { payload: Uint8Array; kind: string } {
  if (r.chance(0.04)) return { payload: utf8(JSON.stringify({ ...(valid() as Record<string, Json>), name: 'x'.repeat(maxBytes) })), kind: 'oversized' }
  return payloadInput(r, valid)
}
