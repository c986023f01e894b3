import type { z } from 'zod'
import { ContractError, type Envelope, toErrorPayload } from './errors.js'
import { type ApiHandlers, isMethodName, methods } from './index.js'

/** Schema issues as a short, safe list naming the bad fields. */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 10).map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }))
}

/**
 * The one entry for a call from any transport: the method must exist, the params must
 * match its schema, and whatever is thrown becomes a typed error payload.
 */
export async function dispatch(handlers: ApiHandlers, name: string, rawParams: unknown): Promise<Envelope<unknown>> {
  try {
    if (!isMethodName(name)) throw new ContractError('unknown_method', `unknown method: ${name.slice(0, 64)}`)
    const spec = methods[name]
    const parsed = spec.params.safeParse(rawParams ?? {})
    if (!parsed.success) {
      const issues = describeIssues(parsed.error)
      throw new ContractError('invalid_params', `invalid params for ${name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues })
    }
    const handler = handlers[name] as (params: unknown) => Promise<unknown>
    const result = await handler(parsed.data)
    return { ok: true, result }
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) }
  }
}
