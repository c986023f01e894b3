import { z } from 'zod'

/**
 * A caller's name for one intended call with effects (a payment, a send, a channel). The
 * first call with a key does the work; a later call with the same key and the same params
 * gets what the first did (its answer, or, while it still runs, the same wait) and moves
 * nothing more; the same key with other params is refused (`conflict`, details.reason
 * `idempotency-key-reused`). A call that failed before doing anything leaves nothing
 * behind, so its retry does the work. Keys are kept IDEMPOTENCY_KEY_TTL_MS after first
 * use, and at most IDEMPOTENCY_MAX_KEYS of them (the oldest go first). A UUID per intended
 * call is the usual choice.
 */
export const IdempotencyKeySchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -')

export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000
export const IDEMPOTENCY_MAX_KEYS = 1_000_000

/** The HTTP header that carries the key (the same as params.idempotencyKey). */
export const IDEMPOTENCY_HEADER = 'idempotency-key'

/** The field every method with effects accepts. */
export const idempotent = { idempotencyKey: IdempotencyKeySchema.optional() }

/** The methods that accept an idempotency key: every method with effects. */
export const IDEMPOTENT_METHODS = [
  'pay',
  'send',
  'openChannel',
  'acceptChannel',
  'rejectChannel',
  'closeChannel',
  'archiveChannel',
  'sendMessage',
  'retryMessage',
  'deleteMessage',
  'restoreWallet',
  'newAddress',
  'updateSettings',
  'updateProfile',
  'setContact',
  'removeContact',
] as const
export type IdempotentMethod = (typeof IDEMPOTENT_METHODS)[number]

export function isIdempotentMethod(name: string): name is IdempotentMethod {
  return (IDEMPOTENT_METHODS as readonly string[]).includes(name)
}
