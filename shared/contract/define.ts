import type { z } from 'zod'

export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  params: P
  result: R
  /** One line for API docs and the web UI. */
  summary: string
}

export function method<P extends z.ZodType, R extends z.ZodType>(summary: string, params: P, result: R): MethodSpec<P, R> {
  return { summary, params, result }
}
