import { deadline } from '../lifecycle/index.js'
import { nextDelay } from '../p2p/backoff.js'
import { ChainUnavailableError } from './chain.js'

export interface HttpPolicy {
  /** Per attempt. */
  timeoutMs: number
  /** Extra attempts after the first, on network errors, timeouts and 5xx only. */
  retries: number
  /** Full-jitter backoff between attempts. */
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_HTTP_POLICY: HttpPolicy = { timeoutMs: 10_000, retries: 2, baseDelayMs: 200, maxDelayMs: 2_000 }

export interface HttpAnswer {
  status: number
  body: string
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * One HTTP exchange with bounded retries. A 4xx is an answer (returned, never retried:
 * a refusal repeated is still a refusal); network errors, timeouts and 5xx are retried
 * with full-jitter backoff and end in ChainUnavailableError. Broadcasting the same bytes
 * twice is safe: a transaction is identified by its hash.
 */
export async function request(url: string, init: { method: 'GET' | 'POST'; body?: string; headers?: Record<string, string> }, policy: HttpPolicy, signal?: AbortSignal): Promise<HttpAnswer> {
  let lastError = 'no attempt made'
  let maybeDelivered = false
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await sleep(nextDelay(attempt, policy), signal)
    if (signal?.aborted) throw signal.reason as Error
    const limit = deadline(policy.timeoutMs, signal)
    try {
      const res = await fetch(url, { method: init.method, body: init.body, headers: init.headers, signal: limit.signal })
      const body = await res.text()
      if (res.status >= 500) {
        maybeDelivered = true
        lastError = `HTTP ${res.status}: ${body.slice(0, 200)}`
        continue
      }
      return { status: res.status, body }
    } catch (err) {
      if (signal?.aborted) throw signal.reason as Error
      lastError = limit.timedOut() ? `timed out after ${policy.timeoutMs} ms` : String((err as Error)?.cause ?? (err as Error)?.message ?? err)
      if (limit.timedOut() || !NEVER_CONNECTED.has(errorCode(err))) maybeDelivered = true
    } finally {
      limit.release()
    }
  }
  throw new ChainUnavailableError(`${init.method} ${new URL(url).origin}: ${lastError}`, maybeDelivered)
}

/** Failures that happen before a connection exists: the request certainly never left. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause
  return typeof cause?.code === 'string' ? cause.code : ''
}
