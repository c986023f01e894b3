import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'
import { PeerIdTextSchema } from './peers.js'

/** Longest message text, in UTF-16 code units. */
export const MESSAGE_TEXT_MAX = 16_384
export const MESSAGE_LIST_MAX = 500

export const MESSAGE_DIRECTIONS = ['in', 'out'] as const
/** in: received; out: pending until the peer acknowledged storing it, then delivered (or failed). */
export const MESSAGE_STATUSES = ['received', 'pending', 'delivered', 'failed'] as const

export const MessageSchema = z.object({
  /** The sender's id for the message; unique per (peerId, direction). */
  id: z.string(),
  /** Local, strictly increasing position: the order messages were stored here; the list cursor. */
  seq: z.number().int().positive(),
  /** The other side: the authenticated sender for `in`, the recipient for `out`. */
  peerId: z.string(),
  direction: z.enum(MESSAGE_DIRECTIONS),
  text: z.string(),
  /** When the sender says it wrote the message (ISO 8601); the sender's clock, not trusted. */
  sentAt: z.string(),
  /** `in`: when it was stored here; `out`: when the peer acknowledged it; null while pending. */
  receivedAt: z.string().nullable(),
  status: z.enum(MESSAGE_STATUSES),
})
export type Message = z.infer<typeof MessageSchema>

export const messageMethods = {
  sendMessage: method(
    'Send a direct message; resolves with its id once the peer has stored it. Messages to one peer leave in order, at the pace the peer accepts (a peer that refuses for rate is waited for, never bounced to the caller). `rate_limited` (with `retryAfterMs` and `queued` in its details) only when 16,384 messages already wait for that peer; `timeout` or `unavailable` when the peer has not stored it within messaging.deadlineMs (30 s).',
    z.object({ peerId: PeerIdTextSchema, text: z.string().min(1).max(MESSAGE_TEXT_MAX), ...idempotent }).strict(),
    z.object({ id: z.string() }),
  ),
  listMessages: method(
    'Messages newest first; `before` is a seq cursor (exclusive): pass the last seq of a page to get the next.',
    z
      .object({
        peerId: PeerIdTextSchema.optional(),
        before: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(MESSAGE_LIST_MAX).default(100),
      })
      .strict()
      .prefault({}),
    z.array(MessageSchema),
  ),
  searchMessages: method(
    'Full-text search over message texts (words are matched literally, as prefixes), best match first.',
    z
      .object({
        query: z.string().max(512),
        limit: z.number().int().min(1).max(MESSAGE_LIST_MAX).default(100),
      })
      .strict(),
    z.array(MessageSchema),
  ),
}

export const messageEvents = {
  /** A message received, or an outbound message delivered or failed. */
  message: MessageSchema,
}
