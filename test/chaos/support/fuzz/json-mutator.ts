// Structure-aware mutation of JSON values, and the hostile values it draws from: the same
// generator feeds every target (wire frames, announcements, API params, IPC calls).
import type { Prng } from './prng.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Numbers that break naive handling of satoshis, counters and lengths. */
const NASTY_NUMBERS: readonly number[] = [
  0, -0, -1, 1, 0.5, 1.5, -1.5, 1e-7, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 1e300, 2_100_000_000_000_001, 21_000_000 * 100_000_000 + 1, 0xffffffff, 499_999_999, 500_000_000,
]

/** Strings that break naive handling of ids, text, queries and paths. */
export const NASTY_STRINGS: readonly string[] = [
  '', ' ', '\u0000', '\u0000'.repeat(40), 'null', 'undefined', 'NaN', '-1', '1e400', '0x10', 'true', '[]', '{}', '__proto__', 'constructor', 'prototype',
  '\ud800', '\udfff\ud800', '😀'.repeat(20), 'é'.repeat(33), '\u202e\u200b\ufeff', '../../etc/passwd', '%00%ff%', '%E0%A4%A', '\r\nX-Injected: 1', '<script>alert(1)</script>',
  "' OR 1=1 --", '"; DROP TABLE channels; --', 'NEAR(a b)', '"unterminated', 'a* OR b*', '^', 'x AND', '(((', '*', 'col:value', '\\', '\\u0000',
  '/ip4/127.0.0.1/tcp/0', '/p2p-circuit', '/ip4/999.1.1.1/tcp/1', '/dns4/' + 'a'.repeat(300), '12D3KooW', '12D3KooW' + '1'.repeat(44), 'Qm' + 'z'.repeat(44),
  '0'.repeat(32), 'f'.repeat(64), 'G'.repeat(32), '02' + '0'.repeat(64), '04' + 'a'.repeat(128), '1BoatSLRHtKNngkdXEeobR76b53LETtpyT', 'mzBc4XEFSdzCDcTxAgf6EZXgsZWpztRhef',
  'abandon '.repeat(11) + 'about', 'zoo '.repeat(24), 'x'.repeat(65), 'x'.repeat(257), 'x'.repeat(1025), 'x'.repeat(16_385), 'x'.repeat(70_000),
]

const KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'id', 't', 'from', 'peerId', 'sender', 'extra', '', ' ', '😀', 'seq', 'sats', 'paidSats']

/** A random JSON value: scalars often nasty, containers shallow unless `depth` allows. */
export function randomJson(r: Prng, depth = 3): Json {
  switch (r.int(depth > 0 ? 9 : 6)) {
    case 0:
      return null
    case 1:
      return r.chance(0.5)
    case 2:
      return r.pick(NASTY_NUMBERS)
    case 3:
      return r.chance(0.5) ? r.int(1_000_000) - 1000 : r.next() * 10 ** r.int(20)
    case 4:
      return r.pick(NASTY_STRINGS)
    case 5:
      return r.text(r.int(80), 'abcdefXYZ0123456789 _-/\\"\'\u00e9\u4e2d\ud83d\ude00\u0000')
    case 6:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth - 1))
    case 7: {
      const o: Record<string, Json> = {}
      for (let i = r.int(5); i > 0; i--) o[r.chance(0.5) ? r.pick(KEYS) : r.text(r.between(1, 8))] = randomJson(r, depth - 1)
      return o
    }
    default:
      return deepNest(r.between(50, 3000), r.chance(0.5))
  }
}

/** Nested arrays or objects, `depth` levels: stack depth for parsers and validators. */
function deepNest(depth: number, objects: boolean): Json {
  let v: Json = 1
  for (let i = 0; i < depth; i++) v = objects ? { a: v } : [v]
  return v
}

/** The same text as JSON, nested `depth` levels deep, without building the value (cheap for huge depths). */
export function deepNestText(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}

function isRecord(v: Json): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** One to three edits of a valid value: drop, add, retype, stretch or corrupt a field, or replace the whole. */
export function mutate(r: Prng, valid: Json): Json {
  let v = structuredClone(valid)
  for (let n = r.between(1, 3); n > 0; n--) v = mutateOnce(r, v)
  return v
}

function mutateOnce(r: Prng, v: Json): Json {
  if (!isRecord(v)) return r.chance(0.8) ? randomJson(r) : [v]
  const keys = Object.keys(v)
  const key = keys.length > 0 ? r.pick(keys) : 'x'
  const out = { ...v }
  switch (r.int(10)) {
    case 0:
      delete out[key]
      return out
    case 1:
      out[r.chance(0.5) ? r.pick(KEYS) : r.text(r.between(1, 12))] = randomJson(r, 1)
      return out
    case 2:
      out[key] = randomJson(r, 2)
      return out
    case 3:
      out[key] = r.pick(NASTY_NUMBERS)
      return out
    case 4:
      out[key] = r.pick(NASTY_STRINGS)
      return out
    case 5: {
      const cur = out[key]
      if (typeof cur === 'string') out[key] = flipChars(r, cur)
      else if (typeof cur === 'number') out[key] = r.pick([cur + 1, cur - 1, cur + 0.5, -cur, cur * 2 ** r.int(60), String(cur)])
      else out[key] = randomJson(r, 1)
      return out
    }
    case 6: {
      const cur = out[key]
      // Longer, up to ~256 KB: enough to pass every limit without building strings of gigabytes over repeated edits.
      out[key] = typeof cur === 'string' ? cur.repeat(Math.max(1, Math.min(r.between(2, 600), Math.floor(256_000 / Math.max(1, cur.length))))) : [cur ?? null]
      return out
    }
    case 7:
      out[key] = isRecord(out[key] ?? null) ? mutateOnce(r, out[key]!) : { nested: out[key] ?? null }
      return out
    case 8:
      return r.pick<Json>([null, [], [v], keys, Object.values(v), String(JSON.stringify(v))])
    default:
      return randomJson(r)
  }
}

/** A string with a few characters changed, inserted or removed. */
export function flipChars(r: Prng, s: string): string {
  const chars = [...s]
  for (let n = r.between(1, 3); n > 0; n--) {
    const at = r.int(chars.length + 1)
    const op = r.int(3)
    if (op === 0 || chars.length === 0) chars.splice(at, 0, r.pick(['\u0000', 'Z', 'g', '0', '/', ' ', '😀', '\ud800', '"']))
    else if (op === 1) chars.splice(Math.min(at, chars.length - 1), 1)
    else chars[Math.min(at, chars.length - 1)] = r.pick(['x', 'G', '9', '.', '\n'])
  }
  return chars.join('')
}

/** JSON text with damage: truncated, bytes flipped, trailing garbage, or not JSON at all. */
export function brokenJsonText(r: Prng, valid: Json): string {
  const text = JSON.stringify(valid)
  switch (r.int(6)) {
    case 0:
      return text.slice(0, r.int(Math.max(1, text.length)))
    case 1:
      return flipChars(r, text)
    case 2:
      return text + r.pick([',', '}', ']]', 'garbage', '\u0000', '{"a":1}'])
    case 3:
      return r.pick(['', 'undefined', 'NaN', "{'a':1}", '{a:1}', '[1,]', '{"a":1,}', '\ufeff{}', '01', '"\\ud800"', '1e99999', '{"a":1}{"b":2}'])
    case 4:
      return deepNestText(r.between(1000, 100_000))
    default:
      return Buffer.from(r.bytes(r.between(1, 200))).toString('latin1')
  }
}
