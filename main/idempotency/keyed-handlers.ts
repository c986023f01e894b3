import { type ApiHandlers, IDEMPOTENT_METHODS, type IdempotentMethod, type MethodName, type ParsedParams, type Result } from '../../shared/contract/index.js'
import type { IdempotencyLedger, IdempotencyScope } from './ledger.js'

type Unkeyed<M extends MethodName> = Omit<ParsedParams<M>, 'idempotencyKey'>

/**
 * The engine's handlers before keys are applied: a method with effects also takes the
 * scope of its key (null without one), to record its effect and to find an earlier one.
 */
export type EngineHandlers = {
  [M in MethodName]: M extends IdempotentMethod ? (params: Unkeyed<M>, scope: IdempotencyScope | null) => Promise<Result<M>> : ApiHandlers[M]
}

/** What makes two calls with one key "the same call", where it is not simply the params. */
export type Fingerprints = { [M in IdempotentMethod]?: (params: Unkeyed<M>) => unknown }

/**
 * The contract's handlers for the methods given: every method with effects runs through the
 * ledger when given a key. A set may leave methods out (the engine leaves `restartNode` to its host).
 */
export function keyedHandlers<N extends MethodName>(ledger: IdempotencyLedger, handlers: Pick<EngineHandlers, N>, fingerprints: Fingerprints = {}): Pick<ApiHandlers, N> {
  const out: Record<string, unknown> = { ...handlers }
  for (const name of IDEMPOTENT_METHODS) {
    const impl = (handlers as Partial<EngineHandlers>)[name] as ((params: object, scope: IdempotencyScope | null) => Promise<unknown>) | undefined
    if (impl === undefined) continue
    const fingerprint = fingerprints[name] as ((params: object) => unknown) | undefined
    out[name] = async (params: { idempotencyKey?: string }) => {
      const { idempotencyKey, ...rest } = params
      if (idempotencyKey === undefined) return impl(rest, null)
      return ledger.run(name, idempotencyKey, fingerprint ? fingerprint(rest) : rest, (scope) => impl(rest, scope))
    }
  }
  return out as Pick<ApiHandlers, N>
}
