import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'
import { PeerIdTextSchema, TimeoutMsSchema } from './peers.js'

/** Longest message text, in UTF-16 code units. */
export const MESSAGE_TEXT_MAX = 16_384
const MESSAGE_LIST_MAX = 500

const MESSAGE_DIRECTIONS = ['in', 'out'] as const
/**
 * in: received. out: pending (kept here, sent whenever the peer can be reached) until the
 * peer acknowledged storing it, then delivered; failed when it could not be delivered
 * before messaging.pendingExpiryMs (7 days) or the peer refused it (it can be retried).
 */
const MESSAGE_STATUSES = ['received', 'pending', 'delivered', 'failed'] as const

const MessageSchema = z.object({
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

/** Most messages one `messages` batch carries over a transport (the rest: `resync`). */
export const MESSAGE_BATCH_MAX = 500
const CONVERSATION_LIST_MAX = 1_000

const ConversationSchema = z.object({
  peerId: z.string(),
  /** The newest message with this peer. */
  last: MessageSchema,
  /** Received messages after the read marker (markConversationRead); kept in the database. */
  unread: z.number().int().nonnegative(),
  /** Every stored message with this peer, both directions. */
  total: z.number().int().nonnegative(),
})
export type Conversation = z.infer<typeof ConversationSchema>

const UnreadSchema = z.object({
  total: z.number().int().nonnegative(),
  /** Only peers with unread messages. */
  byPeer: z.record(z.string(), z.number().int().positive()),
})
export type Unread = z.infer<typeof UnreadSchema>

export const messageMethods = {
  sendMessage: method(
    'Send a direct message. It is stored here first, then delivered in order, at the pace the peer accepts, whenever the peer can be reached. Resolves `delivered` once the peer has stored it, or `pending` when it could not be delivered yet: at once when the peer cannot be reached, else after `timeoutMs` (default messaging.deadlineMs, 30 s); with `timeoutMs` the call waits that long even for a peer that is away. A pending message is sent on reconnect, discovery, a relay reservation and retries with backoff, and fails after messaging.pendingExpiryMs (7 days). `rate_limited` (with `retryAfterMs` and `queued`) when 16,384 messages already wait for that peer, or messaging.maxPendingTotal (100,000) or maxPendingBytes (256 MiB) for all peers; `payload_too_large` or `rejected` when the peer refused it.',
    z.object({ peerId: PeerIdTextSchema, text: z.string().min(1).max(MESSAGE_TEXT_MAX), timeoutMs: TimeoutMsSchema.optional(), ...idempotent }).strict(),
    z.object({ id: z.string(), seq: z.number().int().positive(), status: z.enum(['delivered', 'pending']) }),
  ),
  retryMessage: method(
    'Send a failed outbound message again (it becomes pending, with a new expiry); a pending or delivered one is answered as it is.',
    z.object({ seq: z.number().int().positive(), ...idempotent }).strict(),
    MessageSchema,
  ),
  deleteMessage: method(
    'Delete an outbound message that is pending or failed (it is not sent any more; one already on its way may still arrive). Received and delivered messages stay.',
    z.object({ seq: z.number().int().positive(), ...idempotent }).strict(),
    z.object({ seq: z.number().int().positive(), peerId: z.string(), id: z.string() }),
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
  listConversations: method(
    'One entry per peer messages were exchanged with, the most recent conversation first: its newest message, how many are unread and how many are stored.',
    z.object({ limit: z.number().int().min(1).max(CONVERSATION_LIST_MAX).default(200) }).strict().prefault({}),
    z.array(ConversationSchema),
  ),
  getUnread: method('Unread received messages: the total and per peer.', z.object({}).strict().prefault({}), UnreadSchema),
  markConversationRead: method(
    'Marks the received messages with a peer read up to `upToSeq` (inclusive). Idempotent: the marker only moves forward. Answers the unread counts after it.',
    z.object({ peerId: PeerIdTextSchema, upToSeq: z.number().int().nonnegative() }).strict(),
    UnreadSchema,
  ),
}

export const messageEvents = {
  /** A message received; an outbound message kept waiting (pending: its peer is away or slow, or it was retried), delivered or failed. */
  message: MessageSchema,
  /**
   * What the transports (IPC, WebSocket) send instead of single `message` events: the
   * messages of one window (at most one batch per 100 ms, MESSAGE_BATCH_MAX, newest per seq).
   * `resync`: some were left out; reload what is shown from listMessages/listConversations.
   */
  messages: z.object({ messages: z.array(MessageSchema).max(MESSAGE_BATCH_MAX), resync: z.boolean() }),
  /** The unread counts changed (a message received, a conversation marked read); at most a few per second. */
  unread: UnreadSchema,
  /** An outbound message deleted (deleteMessage). */
  messageDeleted: z.object({ seq: z.number().int().positive(), peerId: z.string(), id: z.string() }),
}
