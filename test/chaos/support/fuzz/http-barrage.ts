// The HTTP API under generated bad requests: every contract method with mutated params,
// plus broken bodies, content types, tokens, verbs, paths, hosts and origins over a
// keep-alive agent, and raw sockets carrying malformed HTTP. Every answer must be a typed
// refusal: a 4xx status with an error envelope whose code is one of the contract's.
import { Agent, request } from 'node:http'
import { type Socket, connect } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ERROR_CODES, type MethodName } from '../../../../shared/contract/index.js'
import { type ApiContext, BAD_METHOD_NAMES, SAFE_WHEN_VALID, accepts, apiParams } from './api-inputs.js'
import { brokenJsonText, deepNestText, flipChars, randomJson } from './json-mutator.js'
import type { Prng } from './prng.js'

export interface HttpTarget {
  apiUrl: string
  token: string
  maxBodyBytes: number
}

interface HttpInput {
  kind: string
  verb: string
  path: string
  headers: Record<string, string>
  body: string | Buffer | null
  /** A call the contract accepts (a harmless method): any answer below 500 is right. */
  validCall: boolean
}

export interface HttpResult {
  inputs: number
  byKind: Record<string, number>
  byStatus: Record<string, number>
  /** Answers that were not a typed refusal (or a harmless success): each one a bug. */
  violations: { kind: string; status: number; path: string; detail: string }[]
  /**
   * Requests that met a pooled keep-alive socket the server had closed and went again on a
   * new connection, with the longest time such a socket had sat idle: past the server's 5 s
   * keepAliveTimeout the close is expected, well under it something else closed it.
   */
  staleSocketRetries: number
  staleSocketMaxIdleMs: number
  /** The barrage's own longest event-loop stall: a stalled client leaves its pooled sockets idle. */
  clientStallMaxMs: number
}

/**
 * Whether the API may accept this request: the right verb, token, content type and
 * method name, and a body the method's schema accepts. Everything else must be refused.
 */
function acceptedMethod(input: HttpInput, target: HttpTarget): string | null {
  if (input.verb !== 'POST' || input.headers.Host !== undefined || input.headers.Origin !== undefined) return null
  // As the server reads it: the Bearer scheme and the token, surrounding whitespace trimmed (by the HTTP parser).
  if (/^Bearer +(\S+)$/i.exec((input.headers.Authorization ?? '').trim())?.[1] !== target.token) return null
  const body = input.body === null ? '' : input.body.toString()
  if (Buffer.byteLength(body) > target.maxBodyBytes) return null
  let name: string
  try {
    const pathname = new URL(input.path, 'http://localhost').pathname
    if (!pathname.startsWith('/api/')) return null
    name = decodeURIComponent(pathname.slice('/api/'.length))
  } catch {
    return null
  }
  if (body.length === 0) return accepts(name, {}) ? name : null
  if (!/^application\/json\b/i.test(input.headers['Content-Type'] ?? '')) return null
  try {
    return accepts(name, JSON.parse(body)) ? name : null
  } catch {
    return null
  }
}

function generate(r: Prng, name: MethodName, target: HttpTarget, ctx: ApiContext, oversizedEvery: number, n: number): HttpInput {
  let input = generateRaw(r, name, target, ctx, oversizedEvery, n)
  const accepted = acceptedMethod(input, target)
  // Only methods whose valid calls are harmless may get one, whatever kind of input made it
  // valid (an empty or random body is a valid restartNode): the others get a body every strict schema refuses.
  if (accepted === null || SAFE_WHEN_VALID.has(accepted as MethodName)) return { ...input, validCall: accepted !== null }
  input = { ...input, body: JSON.stringify({ fuzz_unknown_key: 1 }), headers: { ...input.headers, 'Content-Type': 'application/json' } }
  return { ...input, validCall: acceptedMethod(input, target) !== null }
}

function generateRaw(r: Prng, name: MethodName, target: HttpTarget, ctx: ApiContext, oversizedEvery: number, n: number): HttpInput {
  const json = { 'Content-Type': 'application/json', Authorization: `Bearer ${target.token}` }
  const path = `/api/${name}`
  const call = apiParams(r, name, ctx)
  const input = (kind: string, over: Partial<HttpInput>): HttpInput => ({ kind, verb: 'POST', path, headers: json, body: JSON.stringify(call.params), validCall: false, ...over })
  if (n % oversizedEvery === oversizedEvery - 1) return input('oversized-body', { body: Buffer.alloc(target.maxBodyBytes + 1 + r.int(4096), 0x20) })
  const roll = r.int(100)
  if (roll < 55) return input('params', {})
  if (roll < 62) return input('random-json', { body: JSON.stringify(randomJson(r)) })
  if (roll < 70) return input('broken-json', { body: brokenJsonText(r, call.params) })
  if (roll < 72) return input('deep-json', { body: deepNestText(r.between(1000, 50_000)) })
  if (roll < 77) return input('content-type', { headers: { ...json, 'Content-Type': r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'json', 'application/xml', 'APPLICATION/JSONX']) } })
  if (roll < 83) {
    const auth = latin1Header(r.pick(['', 'Bearer', 'Bearer ', `Bearer ${target.token}x`, `Bearer ${target.token.slice(1)}`, `Basic ${target.token}`, `Bearer ${'a'.repeat(4000)}`, `Bearer ${flipChars(r, target.token)}`, target.token, 'Bearer \u00e9']))
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (auth !== '') headers.Authorization = auth
    return input('auth', { headers })
  }
  if (roll < 87) return input('verb', { verb: r.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) })
  if (roll < 93) {
    const bad = r.pick(BAD_METHOD_NAMES)
    const p = r.pick([`/api/${encodeURIComponent(bad)}`, `/api/${r.pick(['%E0%A4%A', '%', '%zz', '%00', '%ff%fe', '%C0%AF'])}${name}`, `/api//${name}`, `/api/${name}/x`, `/API/${name}`, `/api/${name}?${'q='.repeat(r.int(50))}`, `/api/${name}#frag`, `/api/%2e%2e/${name}`])
    return input('path', { path: p })
  }
  if (roll < 97) return input('host-origin', { headers: { ...json, ...r.pick<Record<string, string>>([{ Host: 'evil.example' }, { Host: 'localhost.evil.example:1' }, { Origin: 'http://evil.example' }, { Origin: 'null' }, { Origin: 'http://127.0.0.1:1' }, { Host: '127.0.0.2' }]) } })
  return input('huge-header', { headers: { ...json, 'X-Fuzz': 'h'.repeat(r.between(8_000, 40_000)) } })
}

/** What a client can put in a header at all (Node refuses control characters and non-Latin-1). */
function latin1Header(v: string): string {
  return v.replace(/[^\x20-\x7e\x80-\xff]/g, '?')
}

function isTypedRefusal(status: number, text: string, verb: string): string | null {
  if (status >= 500) return `status ${status}`
  if (status < 400) return `status ${status} for bad input`
  if (verb === 'HEAD') return null
  // Node's own parser answers some (431 header too large, 400 bad request) before our code runs.
  if (text === '') return status === 431 || status === 400 || status === 413 ? null : `empty ${status}`
  try {
    const body = JSON.parse(text) as { ok?: unknown; error?: { code?: unknown } }
    if (body.ok !== false || !(ERROR_CODES as readonly unknown[]).includes(body.error?.code)) return `not an error envelope: ${text.slice(0, 200)}`
    return null
  } catch {
    return `not JSON: ${text.slice(0, 200)}`
  }
}

/** When each pooled socket last finished a request. */
const lastUsed = new WeakMap<Socket, number>()

function send(agent: Agent | false, url: URL, input: HttpInput, onSocket?: (socket: Socket) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...input.headers }
    if (input.body !== null && input.verb !== 'GET' && input.verb !== 'HEAD') headers['Content-Length'] = Buffer.byteLength(input.body)
    let socket: Socket | null = null
    const req = request({ agent, host: url.hostname, port: url.port, method: input.verb, path: input.path, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (socket) lastUsed.set(socket, Date.now())
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', reject)
    })
    // Taken here: by 'end' the agent may have detached the socket from the response.
    req.once('socket', (s: Socket) => {
      socket = s
      onSocket?.(s)
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')))
    req.on('error', reject)
    if (input.body !== null && input.verb !== 'GET' && input.verb !== 'HEAD') req.end(input.body)
    else req.end()
  })
}

/** Sends `perMethod` inputs for every method in `names`, `concurrency` at a time over keep-alive connections. */
export async function httpBarrage(opts: { target: HttpTarget; ctx: ApiContext; names: readonly MethodName[]; perMethod: number; concurrency: number; r: Prng; deadlineMs: number }): Promise<HttpResult> {
  const url = new URL(opts.target.apiUrl)
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const result: HttpResult = { inputs: 0, byKind: {}, byStatus: {}, violations: [], staleSocketRetries: 0, staleSocketMaxIdleMs: 0, clientStallMaxMs: 0 }
  const stalls = monitorEventLoopDelay({ resolution: 20 })
  stalls.enable()
  const total = opts.perMethod * opts.names.length
  const deadline = Date.now() + opts.deadlineMs
  let n = 0
  const lane = async (): Promise<void> => {
    while (n < total && Date.now() < deadline) {
      const i = n++
      const name = opts.names[i % opts.names.length]!
      const input = generate(opts.r, name, opts.target, opts.ctx, 2000, i)
      let answer: { status: number; text: string }
      let socket: Socket | undefined
      // The server refuses these before reading them (431, or 413 on a declared length over its
      // limit) and closes: the client may meet the close while still writing, which is an answer.
      const refusedUnread = input.kind === 'huge-header' || (input.body !== null && Buffer.byteLength(input.body) > opts.target.maxBodyBytes)
      try {
        // A keep-alive socket the server has just closed fails the next request on it: retry
        // once, on a new connection (the pool may hold more sockets closed at the same moment).
        answer = await send(agent, url, input, (s) => (socket = s)).catch((err: NodeJS.ErrnoException) => {
          if (refusedUnread) throw err
          if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE' && err.message !== 'socket hang up') throw err
          result.staleSocketRetries++
          const since = socket && lastUsed.get(socket)
          if (since !== undefined) result.staleSocketMaxIdleMs = Math.max(result.staleSocketMaxIdleMs, Date.now() - since)
          return send(false, url, input)
        })
      } catch (err) {
        if (refusedUnread) answer = { status: input.kind === 'huge-header' ? 431 : 413, text: '' }
        else {
          result.violations.push({ kind: input.kind, status: 0, path: input.path, detail: (err as Error).message })
          continue
        }
      } finally {
        result.inputs++
        result.byKind[input.kind] = (result.byKind[input.kind] ?? 0) + 1
      }
      result.byStatus[answer.status] = (result.byStatus[answer.status] ?? 0) + 1
      const problem = input.validCall ? (answer.status >= 500 ? `status ${answer.status}: ${answer.text.slice(0, 200)}` : null) : isTypedRefusal(answer.status, answer.text, input.verb)
      if (problem && result.violations.length < 50) result.violations.push({ kind: input.kind, status: answer.status, path: input.path.slice(0, 100), detail: `${problem} (body ${String(input.body).slice(0, 120)})` })
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, lane))
  agent.destroy()
  stalls.disable()
  result.clientStallMaxMs = Math.round(stalls.max / 1e6)
  return result
}

/** Malformed HTTP on raw sockets: what Node's parser and our router see before any JSON. */
const RAW_REQUESTS: readonly ((host: string, token: string) => string)[] = [
  (h) => `GET http://[ HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h) => `GET http://[::1 HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h) => `POST http://%zz/api/getHealth HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 0\r\n\r\n`,
  (h) => `GET //evil.example/health HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h, t) => `POST /api/getHealth HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${t}\r\nContent-Length: abc\r\n\r\n{}`,
  (h, t) => `POST /api/getHealth HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${t}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  (h, t) => `POST /api/getHealth HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
  (h, t) => `POST /api/getHealth HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}`,
  (h) => `GET /health HTTP/9.9\r\nHost: ${h}\r\n\r\n`,
  (h) => `G\u0000T /health HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\nX: a\u0000b\r\n\r\n`,
  (h) => `GET /health HTTP/1.1\nHost: ${h}\n\n`,
  (h) => `GET /he alth HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h) => `GET /%E0%A4%A HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
  (h, t) => `POST /api/%E0%A4%A HTTP/1.1\r\nHost: ${h}\r\nAuthorization: Bearer ${t}\r\nContent-Length: 0\r\n\r\n`,
  (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\n${'X-A: b\r\n'.repeat(3000)}\r\n`,
  (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\nHost: evil.example\r\n\r\n`,
  () => `GET /health HTTP/1.1\r\n\r\n`,
  (h) => `GET /api/events HTTP/1.1\r\nHost: ${h}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
  (h) => `GET http://[/api/events HTTP/1.1\r\nHost: ${h}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  () => '\r\n\r\n\r\n',
  () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  () => '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003',
]

/** One raw request; resolves with the status line's code (0: closed without one). */
function rawRequest(url: URL, text: string | Buffer, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname)
    let got = ''
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got)
      resolve(m ? Number(m[1]) : got === 'TIMEOUT' ? -1 : 0)
    }
    const timer = setTimeout(() => {
      got = got || 'TIMEOUT'
      finish()
    }, timeoutMs)
    socket.on('connect', () => socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text))
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1')
      if (/^HTTP\/1\.[01] \d{3}[^]*\r\n\r\n/.test(got)) finish()
    })
    socket.on('error', finish)
    socket.on('close', finish)
  })
}

/** Raw-socket inputs: the listed malformed requests, then random bytes and mutations of them. Returns status counts; -1 is a timeout (a hang). */
export async function rawBarrage(opts: { apiUrl: string; token: string; count: number; r: Prng; concurrency: number }): Promise<{ inputs: number; byStatus: Record<string, number> }> {
  const url = new URL(opts.apiUrl)
  const host = url.host
  const byStatus: Record<string, number> = {}
  let n = 0
  const lane = async (): Promise<void> => {
    while (n < opts.count) {
      const i = n++
      const template = RAW_REQUESTS[i % RAW_REQUESTS.length]!(host, opts.token)
      const text = i < RAW_REQUESTS.length ? template : opts.r.chance(0.5) ? flipChars(opts.r, template) : Buffer.from(opts.r.bytes(opts.r.between(1, 2000)))
      const status = String(await rawRequest(url, text))
      byStatus[status] = (byStatus[status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, lane))
  return { inputs: n, byStatus }
}
