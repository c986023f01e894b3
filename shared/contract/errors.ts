import { z } from 'zod'

/**
 * Every failure that crosses a transport carries one of these codes. Callers branch on
 * the code, never on the message; no stack, key or mnemonic ever crosses.
 */
export const ERROR_CODES = [
  'invalid_params',
  'unknown_method',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'invalid_state',
  'rate_limited',
  'payload_too_large',
  'unavailable',
  'timeout',
  'insufficient_funds',
  'wrong_network',
  'invalid_address',
  'wrong_passphrase',
  'rejected',
  'internal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export const ErrorPayloadSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** Where the problem is, e.g. the bad field's path; never secret. */
  details: z.record(z.string(), z.unknown()).optional(),
})
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>

export class ContractError extends Error {
  override readonly name = 'ContractError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }

  toPayload(): ErrorPayload {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message }
  }

  static fromPayload(payload: ErrorPayload): ContractError {
    return new ContractError(payload.code, payload.message, payload.details)
  }
}

/** Turn anything thrown into a payload that is safe to send: unknown errors say only "internal". */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof ContractError) return err.toPayload()
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) {
    const parsed = ErrorPayloadSchema.safeParse({ code: (err as { code: unknown }).code, message: (err as { message: unknown }).message })
    if (parsed.success) return parsed.data
  }
  return { code: 'internal', message: 'internal error' }
}

/** The answer of every call on every transport. */
export type Envelope<T> = { ok: true; result: T } | { ok: false; error: ErrorPayload }
