import { useCallback, useEffect, useRef, useState } from 'react'
import { humanError } from '../human.js'

export interface ActionState<R> {
  pending: boolean
  error: string | null
  result: R | null
}

/**
 * A slow action with its progress and its failure in words. A new run clears the old
 * outcome, and nothing is set after the component is gone, so no half-done state lingers.
 */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>): ActionState<R> & { run: (...args: A) => Promise<boolean>; reset: () => void } {
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
        if (mounted.current) setState({ pending: false, error: humanError(err), result: null })
        return false
      }
    },
    [fn],
  )
  const reset = useCallback(() => setState({ pending: false, error: null, result: null }), [])
  return { ...state, run, reset }
}
