// Chain HTTP goes through node:http / node:https rather than fetch: on Node 20 every fetch
// with a signal registers the request in undici's FinalizationRegistry, and in a long-running
// daemon those entries were never cleaned up (about 1 KB per chain request, seen in heap
// snapshots of the soak). A plain request with an abort listener we remove leaves nothing.
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { deadline, nextDelay } from '../kit/index.js'
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
      const res = await exchange(url, init, limit.signal)
      if (res.status >= 500) {
        maybeDelivered = true
        lastError = `HTTP ${res.status}: ${res.body.slice(0, 200)}`
        continue
      }
      return res
    } catch (err) {
      if (signal?.aborted) throw signal.reason as Error
      lastError = limit.timedOut() ? `timed out after ${policy.timeoutMs} ms` : String((err as Error)?.message ?? err)
      if (limit.timedOut() || !NEVER_CONNECTED.has(errorCode(err))) maybeDelivered = true
    } finally {
      limit.release()
    }
  }
  throw new ChainUnavailableError(`${init.method} ${new URL(url).origin}: ${lastError}`, maybeDelivered)
}

/** Failures that happen before a connection exists: the request certainly never left. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

/** Answers larger than this are refused: no chain answer we read comes near it. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024

// Connections to the chain services are reused, as fetch did. Idle ones close after 4 s,
// before a server typically drops them (Node: 5 s), so a reused socket is rarely a dead one.
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16, timeout: 4_000 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16, timeout: 4_000 }) }

/** One request and its whole answer as text; rejects on network errors, abort and oversize. */
function exchange(url: string, init: { method: 'GET' | 'POST'; body?: string; headers?: Record<string, string> }, signal: AbortSignal): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const secure = target.protocol === 'https:'
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8')
    const headers: Record<string, string | number> = { ...init.headers }
    if (body) {
      headers['content-length'] = body.length
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8'
    }
    const req = (secure ? httpsRequest : httpRequest)(target, { method: init.method, headers, agent: secure ? agents.https : agents.http, signal }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ANSWER_BYTES) {
          req.destroy(Object.assign(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`), { code: 'ERR_ANSWER_TOO_LARGE' }))
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
      res.on('aborted', () => reject(new Error('connection closed before the answer was complete')))
    })
    req.on('error', reject)
    req.end(body)
  })
}
