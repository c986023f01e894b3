import type { ChurnCounts } from './churn.js'

/** Everything the soak's JSON records as a failure, as the summary reads it. */
export interface SoakFailures {
  counts: Pick<ChurnCounts, 'messagesFailed' | 'paymentsFailed' | 'channelsAbandoned'> | null
  /** Failed calls by kind (every failed message and payment is also here, under its kind). */
  errors: Record<string, { count: number }>
  /** Failed metric scrapes by daemon. */
  sampleFailures: Record<string, number>
  setupError: string | null
  interrupted: boolean
}

/**
 * One line naming every kind of failure, zeros included, so that a run whose messages and
 * payments all went through cannot read as clean while its channel loops failed.
 */
export function failureLine(f: SoakFailures): string {
  const errorKinds = Object.entries(f.errors).filter(([, e]) => e.count > 0)
  const scrapes = Object.values(f.sampleFailures).reduce((n, c) => n + c, 0)
  const total = errorKinds.reduce((n, [, e]) => n + e.count, 0) + scrapes + (f.setupError ? 1 : 0)
  const parts = [
    `failed calls by kind: ${errorKinds.length ? errorKinds.map(([kind, e]) => `${kind} ${e.count}`).join(', ') : 'none'}`,
    `messages failed ${f.counts?.messagesFailed ?? 'n/a'}, payments failed ${f.counts?.paymentsFailed ?? 'n/a'}, channels abandoned ${f.counts?.channelsAbandoned ?? 'n/a'}`,
    `metric scrapes failed ${scrapes}`,
    `setup ${f.setupError ? `FAILED (${f.setupError})` : 'ok'}${f.interrupted ? ', interrupted' : ''}`,
  ]
  return `failures: ${total} in all; ${parts.join('; ')}`
}
