import { z } from 'zod'
import { lengthPrefixed } from '../../kit/index.js'
import { MAX_IDS_PER_ACK, MAX_TEXT_CHARS } from './constants.js'

/**
 * Frames of the direct-message protocol, as JSON inside varint length prefixes.
 * The opener of a stream sends `msg` frames; the other side answers with `ack` / `nack`.
 * No frame names its sender: the sender is the authenticated peer of the connection, and
 * the strict schemas refuse any frame that tries to add one.
 */

/** Sender-chosen message id; unique per (sender, id), so a retry is stored once. */
const MessageIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)

/** Milliseconds since the epoch as the sender claims it; informative, never trusted for order. */
const EpochMsSchema = z.number().int().min(0).max(8_640_000_000_000_000)

export const MsgFrameSchema = z.strictObject({
  t: z.literal('msg'),
  id: MessageIdSchema,
  text: z.string().min(1).max(MAX_TEXT_CHARS),
  sentAt: EpochMsSchema,
})
export type MsgFrame = z.infer<typeof MsgFrameSchema>

const NACK_CODES = ['rate_limited', 'invalid', 'too_large', 'unavailable'] as const
export type NackCode = (typeof NACK_CODES)[number]

const AckFrameSchema = z.strictObject({
  t: z.literal('ack'),
  ids: z.array(MessageIdSchema).min(1).max(MAX_IDS_PER_ACK),
})
export type AckFrame = z.infer<typeof AckFrameSchema>

const NackFrameSchema = z.strictObject({
  t: z.literal('nack'),
  id: MessageIdSchema,
  code: z.enum(NACK_CODES),
  /** With rate_limited: when the sender's budget has room again. */
  retryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
})
export type NackFrame = z.infer<typeof NackFrameSchema>

const ResponseFrameSchema = z.discriminatedUnion('t', [AckFrameSchema, NackFrameSchema])
export type ResponseFrame = AckFrame | NackFrame

type RejectReason = 'invalid' | 'too_large'

export type ParseResult<F> = { ok: true; frame: F } | { ok: false; reason: RejectReason; id?: string }

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()

function decodeJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(utf8Decoder.decode(bytes)) as unknown }
  } catch {
    return { ok: false }
  }
}

/** An id worth naming in a refusal, if the bad frame has one that is itself valid. */
function salvageId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const id = (value as { id?: unknown }).id
  return MessageIdSchema.safeParse(id).success ? (id as string) : undefined
}

/** Pure: a request frame's payload (without its length prefix) to a validated `msg`. */
export function parseRequestFrame(bytes: Uint8Array): ParseResult<MsgFrame> {
  const json = decodeJson(bytes)
  if (!json.ok) return { ok: false, reason: 'invalid' }
  const parsed = MsgFrameSchema.safeParse(json.value)
  if (parsed.success) return { ok: true, frame: parsed.data }
  const tooLong = parsed.error.issues.some((i) => i.code === 'too_big' && i.path[0] === 'text')
  const id = salvageId(json.value)
  return id === undefined ? { ok: false, reason: tooLong ? 'too_large' : 'invalid' } : { ok: false, reason: tooLong ? 'too_large' : 'invalid', id }
}

/** Pure: a response frame's payload to a validated `ack` or `nack`. */
export function parseResponseFrame(bytes: Uint8Array): ParseResult<ResponseFrame> {
  const json = decodeJson(bytes)
  if (!json.ok) return { ok: false, reason: 'invalid' }
  const parsed = ResponseFrameSchema.safeParse(json.value)
  return parsed.success ? { ok: true, frame: parsed.data } : { ok: false, reason: 'invalid' }
}

export function encodeFrame(frame: MsgFrame | AckFrame | NackFrame): Uint8Array {
  return lengthPrefixed(utf8Encoder.encode(JSON.stringify(frame)))
}

/** Ack frames for any number of ids, split so that none passes MAX_IDS_PER_ACK. */
export function encodeAcks(ids: readonly string[]): Uint8Array[] {
  const frames: Uint8Array[] = []
  for (let i = 0; i < ids.length; i += MAX_IDS_PER_ACK) frames.push(encodeFrame({ t: 'ack', ids: ids.slice(i, i + MAX_IDS_PER_ACK) }))
  return frames
}
