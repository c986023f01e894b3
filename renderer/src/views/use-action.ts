import { useCallback, useEffect, useRef, useState } from 'react'
import { ContractError } from '../../../shared/contract/index.js'
import { humanError } from '../human.js'
import { IntentKeys } from '../intent-keys.js'

export interface ActionState<R> {
  pending: boolean
  error: string | null
  result: R | null
}

/**
 * A slow action with its progress and its failure in words. A new run clears the old
 * outcome, and nothing is set after the component is gone, so no half-done state lingers.
 */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>, describe: (err: unknown) => string = humanError): ActionState<R> & { run: (...args: A) => Promise<boolean>; reset: () => void } {
  const [state, setState] = useState<ActionState<R>>({ pending: false, error: null, result: null })
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  const run = useCallback(
    async (...args: A): Promise<boolean> => {
      setState({ pending: true, error: null, result: null })
      try {
        const result = await fn(...args)
        if (mounted.current) setState({ pending: false, error: null, result })
        return true
      } catch (err) {
        if (mounted.current) setState({ pending: false, error: describe(err), result: null })
        return false
      }
    },
    [fn, describe],
  )
  const reset = useCallback(() => setState({ pending: false, error: null, result: null }), [])
  return { ...state, run, reset }
}

/**
 * useAction for a call with effects: `fn` gets an idempotency key, the same one for every
 * try of the same args until one succeeds, so trying again after a lost answer (a timeout,
 * a dropped connection) can never pay, send or open twice.
 */
export function useKeyedAction<A extends unknown[], R>(fn: (key: string, ...args: A) => Promise<R>, describe: (err: unknown) => string = describeKeyedFailure): ReturnType<typeof useAction<A, R>> {
  const intents = useRef(new IntentKeys())
  const keyed = useCallback(
    async (...args: A): Promise<R> => {
      const key = intents.current.keyFor(JSON.stringify(args))
      const result = await fn(key, ...args)
      intents.current.done(key)
      return result
    },
    [fn],
  )
  return useAction(keyed, describe)
}

/**
 * No answer came back: the action may have happened, and trying again is safe. Not so when
 * the engine says the peer could not be reached (`reachable: false`): then nothing was done.
 */
export function describeKeyedFailure(err: unknown): string {
  const text = humanError(err)
  if (!(err instanceof ContractError) || (err.code !== 'unavailable' && err.code !== 'timeout') || err.details?.pending === true || err.details?.reachable === false) return text
  return `${text} It may have gone through: trying again is safe, it is never done twice.`
}
