import { z } from 'zod'
import { method } from './define.js'
import { idempotent } from './idempotency.js'
import { PeerIdTextSchema } from './peers.js'

/** The most peers one can name: the whole list travels in every `contacts` event. */
export const MAX_CONTACTS = 10_000
/** Longest contact name, in UTF-16 code units after trimming. */
export const CONTACT_NAME_MAX = 64

/**
 * Characters a name may not hold: controls, format characters (bidi overrides could make a
 * name read as another), line and paragraph separators, lone surrogates. The zero-width
 * joiner alone is allowed: emoji sequences (👩‍💻) are made with it.
 */
const FORBIDDEN_IN_NAME = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u

/** Whether a trimmed name may be stored: the one rule, used by the contract and the renderer's form. */
export function contactNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty'
  if (name.length > CONTACT_NAME_MAX) return `must be at most ${CONTACT_NAME_MAX} characters`
  if (FORBIDDEN_IN_NAME.test(name.replace(/\u200d/g, ''))) return 'must not contain control characters'
  return null
}

/** A name the user gives a peer, trimmed and NFC-normalised so one name is stored one way. */
export const ContactNameSchema = z
  .string()
  .max(CONTACT_NAME_MAX * 4)
  .transform((s) => s.normalize('NFC').trim())
  .superRefine((s, ctx) => {
    const problem = contactNameProblem(s)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

const ContactSchema = z.object({
  peerId: z.string(),
  /** The user's own name for the peer; shown instead of what the peer announces. */
  name: z.string(),
  /** When the name was last set (ISO 8601). */
  updatedAt: z.string(),
})
export type Contact = z.infer<typeof ContactSchema>

export const contactMethods = {
  listContacts: method('The names this user gave peers, by name.', z.object({}).strict().default({}), z.array(ContactSchema).max(MAX_CONTACTS)),
  setContact: method(
    `Name a peer locally (never sent to anyone). Trimmed, 1 to ${CONTACT_NAME_MAX} characters, no control characters; setting the name it already has changes nothing. A new contact beyond ${MAX_CONTACTS} is refused (invalid_state, details.reason "contact-limit").`,
    z.object({ peerId: PeerIdTextSchema, name: ContactNameSchema, ...idempotent }).strict(),
    ContactSchema,
  ),
  removeContact: method(
    'Forget the local name of a peer; `removed` is false when it had none (removing twice is not an error).',
    z.object({ peerId: PeerIdTextSchema, ...idempotent }).strict(),
    z.object({ removed: z.boolean() }),
  ),
}

export const contactEvents = {
  /** Every contact, after any change (from any window or browser tab). */
  contacts: z.array(ContactSchema).max(MAX_CONTACTS),
}
