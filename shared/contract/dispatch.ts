import type { z } from 'zod'
import { ContractError, type Envelope, toErrorPayload } from './errors.js'
import { type ApiHandlers, isMethodName, methods } from './index.js'

/** Schema issues as a short, safe list naming the bad fields. */
function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 10).map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message }))
}

export interface DispatchOptions {
  /**
   * A handler threw what no part typed (a bug), or a part answered `internal` itself: called
   * once, where it becomes `internal`, for the transport to log with its stack and cause and
   * to count. Required: a transport that forgot it would turn bugs into a bare `internal`
   * nobody sees.
   */
  onUnexpected: (method: string, err: unknown) => void
  /** Check every result against its method's schema (tests, development): a mismatch is answered `internal` and reported. */
  checkResults?: boolean
}

/** A handler answered what its method's result schema refuses: the contract is broken on this side. */
export class ResultSchemaError extends Error {
  override readonly name = 'ResultSchemaError'
  constructor(
    readonly method: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`the result of ${method} breaks its schema: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
  }
}

/**
 * The one entry for a call from any transport: the method must exist, the params must
 * match its schema, and whatever is thrown becomes a typed error payload.
 */
export async function dispatch(handlers: ApiHandlers, name: string, rawParams: unknown, opts: DispatchOptions): Promise<Envelope<unknown>> {
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
    if (opts.checkResults) {
      const checked = spec.result.safeParse(result)
      if (!checked.success) throw new ResultSchemaError(name, describeIssues(checked.error))
    }
    return { ok: true, result }
  } catch (err) {
    const error = toErrorPayload(err)
    // Every `internal`, a part's own included (a damaged record): the caller learns nothing, so the log must.
    if (error.code === 'internal') opts.onUnexpected(name, err)
    return { ok: false, error }
  }
}
