import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import { type AddressInfo, type Server as NetServer, createServer as createNetServer } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import { type DispatchOptions, dispatch } from '../../shared/contract/dispatch.js'
import { type ApiHandlers, type Envelope, type ErrorPayload, type Health, IDEMPOTENCY_HEADER, isIdempotentMethod } from '../../shared/contract/index.js'
import { API_PREFIX, EVENTS_PATH, EVENTS_SUBPROTOCOL, tokenFromSubprotocols } from '../../shared/web-api.js'
import { type EventBus, Disposables, type Startable } from '../kit/index.js'
import { MessageEventCoalescer } from '../engine/index.js'
import { type Logger, type Metrics, contractChecks, unexpectedErrorReporter } from '../telemetry/index.js'
import { tokenMatches } from './api-token.js'
import { ConnectionGate } from './connection-gate.js'
import { HTTP_STATUS } from './http-status.js'
import type { WebUi } from './web-ui.js'

export interface ApiServerComponents {
  handlers: ApiHandlers
  events: EventBus
  health: () => Health
  /** Whether the engine is up, for the readiness probe. */
  ready: () => boolean
  /** The API's own metrics; they outlive an engine restart. */
  metrics: Metrics
  /** The running engine's metrics, shown beside them at /metrics. */
  engineMetrics?: () => Metrics
  logger: Logger
}

export interface ApiServerInit {
  host: string
  port: number
  token: string
  maxBodyBytes: number
  /** Connections served at once (256 if unset); more wait their turn, then get a 503. */
  maxConnections?: number
  /** Connections that may wait for a turn (1,024 if unset); past it they are answered 503 at once. */
  maxWaitingConnections?: number
  /** Browser origins allowed besides the API's own. */
  allowedOrigins?: string[]
  /** A WebSocket client whose unsent events pass this is dropped (it reconnects and resyncs). */
  maxClientBufferBytes?: number
  /** Serves the renderer for every other GET (after the same Host/Origin checks). */
  webUi?: WebUi
}

/** A client has this long to send its request's headers (slow or stalled senders are cut off). */
export const HEADERS_TIMEOUT_MS = 10_000
/** A connection waits at most this long for a turn, well inside the headers timeout. */
export const CONNECTION_WAIT_MS = 5_000

const FIXED_ROUTES = new Set(['/health', '/ready', '/metrics'])
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * The Idempotency-Key header is the same as params.idempotencyKey (both may be given if
 * they agree). Methods without effects have nothing to repeat and ignore it, so a client
 * may send a key with every call.
 */
function withIdempotencyHeader(name: string, params: unknown, header: string | string[] | undefined): unknown {
  if (header === undefined || !isIdempotentMethod(name)) return params
  if (Array.isArray(header)) throw new HttpError(400, { code: 'invalid_params', message: 'give one Idempotency-Key header' })
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return params
  const inBody = (params as { idempotencyKey?: unknown }).idempotencyKey
  if (inBody !== undefined && inBody !== header) throw new HttpError(400, { code: 'invalid_params', message: 'the Idempotency-Key header and params.idempotencyKey differ', details: { field: 'idempotencyKey' } })
  return { ...params, idempotencyKey: header }
}

/**
 * The request target as a URL, or null when it is none: Node's parser lets an absolute
 * target such as `GET http://[ HTTP/1.1` through, and `new URL` throws on it.
 */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost')
  } catch {
    return null
  }
}

/** The token of an `Authorization: Bearer <token>` header; any other scheme, or none, is no token. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+)$/i.exec(header ?? '')
  return match?.[1]
}

/** A method name from the path; malformed percent-encoding (`%E0%A4%A`) is a bad request, not an internal error. */
function decodeMethodName(encoded: string): string {
  try {
    return decodeURIComponent(encoded)
  } catch {
    throw new HttpError(400, { code: 'invalid_params', message: 'the method name is not valid percent-encoding' })
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly payload: ErrorPayload,
    /** The rest of the request was not read: answer, then close the connection. */
    readonly closeConnection = false,
  ) {
    super(payload.message)
  }
}

/**
 * The daemon's HTTP face: /health, /ready and /metrics without auth (no secrets in them),
 * every contract method at POST /api/<method> behind the bearer token, and the contract's
 * events over a WebSocket at /api/events. Browsers from other origins are refused, and so
 * are requests whose Host is not this API's (DNS rebinding).
 */
export class ApiServer implements Startable {
  private server: Server | null = null
  private listener: NetServer | null = null
  private wss: WebSocketServer | null = null
  private disposables = new Disposables()
  private boundPort = 0
  private readonly requests
  private readonly wsClients
  private gate: ConnectionGate | null = null

  constructor(
    private readonly components: ApiServerComponents,
    private readonly init: ApiServerInit,
  ) {
    this.requests = components.metrics.counter({ name: 'api_requests_total', help: 'API requests by route and status', labelNames: ['route', 'status'] })
    this.wsClients = components.metrics.gauge({ name: 'api_event_clients', help: 'Connected WebSocket event clients' })
    const unexpected = components.metrics.counter({ name: 'api_unexpected_errors_total', help: 'API requests that failed with what no part typed (answered internal; logged with stack and cause)' })
    this.reportUnexpected = unexpectedErrorReporter(components.logger, unexpected, 'api')
    this.dispatchOptions = { onUnexpected: this.reportUnexpected, checkResults: contractChecks() }
  }

  private readonly reportUnexpected: (what: string, err: unknown) => void
  private readonly dispatchOptions: DispatchOptions

  get port(): number {
    return this.boundPort
  }

  get url(): string {
    const host = this.init.host.includes(':') ? `[${this.init.host}]` : this.init.host
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${this.boundPort}`
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    // Node checks these timeouts every connectionsCheckingInterval (30 s by default), so a
    // client that never finishes its headers held a connection for up to 40 s: check each second.
    const server = createServer({ requestTimeout: 30_000, headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1_000 }, (req, res) => {
      void this.handle(req, res)
    })
    server.keepAliveTimeout = 5_000
    // Connections arrive at a plain TCP listener, paused (nothing read), and reach the HTTP
    // server only when the gate gives them a turn; the others wait or get a 503.
    const gate = new ConnectionGate(
      { maxConnections: this.init.maxConnections ?? 256, maxWaiting: this.init.maxWaitingConnections ?? 1024, maxWaitMs: CONNECTION_WAIT_MS },
      (socket) => {
        server.emit('connection', socket)
        socket.resume()
      },
    )
    gate.onRefused = () => this.requests.inc({ route: 'refused', status: '503' })
    this.gate = gate
    const listener = createNetServer({ pauseOnConnect: true }, (socket) => gate.admit(socket))
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024,
      handleProtocols: (protocols) => (protocols.has(EVENTS_SUBPROTOCOL) ? EVENTS_SUBPROTOCOL : false),
    })
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head))
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject)
      listener.listen(this.init.port, this.init.host, () => {
        listener.off('error', reject)
        resolve()
      })
    })
    listener.on('error', (err) => this.components.logger.error('api listener error', { err }))
    // The HTTP server does not listen itself (the gate's listener does), but it starts
    // tracking its connections (header and request timeouts, closeAllConnections) on
    // 'listening': tell it it is.
    server.emit('listening')
    server.on('error', (err) => this.components.logger.error('api server error', { err }))
    this.server = server
    this.listener = listener
    this.wss = wss
    this.boundPort = (listener.address() as AddressInfo).port
    // `message` events leave as `messages` batches (at most one per 100 ms), as over IPC.
    this.disposables.add(new MessageEventCoalescer(this.components.events).onAny((event, payload) => this.broadcast(event, payload)))
    // Dead clients are found by ping; one interval for all of them.
    this.disposables.interval(() => {
      for (const ws of wss.clients) {
        const alive = (ws as WebSocket & { alive?: boolean }).alive
        if (alive === false) ws.terminate()
        else {
          ;(ws as WebSocket & { alive?: boolean }).alive = false
          ws.ping()
        }
      }
    }, 30_000)
    this.components.logger.info('api listening', { url: this.url })
  }

  async stop(): Promise<void> {
    await this.disposables.dispose()
    this.gate?.clear()
    const wss = this.wss
    const server = this.server
    const listener = this.listener
    this.wss = null
    this.server = null
    this.listener = null
    const listenerClosed = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve()
    if (wss) {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
    if (server) {
      server.closeAllConnections()
      await listenerClosed
    }
    this.wsClients.set(0)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req)
    if (!url) return this.send(res, 'other', 400, { ok: false, error: { code: 'invalid_params', message: 'the request target is not a URL' } } satisfies Envelope<never>)
    // A fixed set of labels: a scanner's random paths must not grow the metric series.
    const route = url.pathname.startsWith(API_PREFIX) ? 'api' : (FIXED_ROUTES.has(url.pathname) ? url.pathname : 'other')
    try {
      this.checkHostAndOrigin(req)
      if (req.method === 'GET' && url.pathname === '/health') {
        const health = this.components.health()
        return this.send(res, route, health.status === 'down' ? 503 : 200, health)
      }
      if (req.method === 'GET' && url.pathname === '/ready') {
        const ready = this.components.ready()
        return this.send(res, route, ready ? 200 : 503, { ready })
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const engine = this.components.engineMetrics?.()
        const text = await (engine ? this.components.metrics.text(engine) : this.components.metrics.text())
        this.requests.inc({ route, status: '200' })
        res.writeHead(200, { 'Content-Type': this.components.metrics.contentType, 'Cache-Control': 'no-store' })
        res.end(text)
        return
      }
      if (url.pathname.startsWith(API_PREFIX) && url.pathname !== EVENTS_PATH) {
        if (req.method !== 'POST') throw new HttpError(405, { code: 'invalid_params', message: 'use POST with a JSON body' })
        this.authenticate(bearerToken(req.headers.authorization))
        const name = decodeMethodName(url.pathname.slice(API_PREFIX.length))
        const params = withIdempotencyHeader(name, await this.readJson(req), req.headers[IDEMPOTENCY_HEADER])
        const envelope = await dispatch(this.components.handlers, name, params, this.dispatchOptions)
        return this.send(res, route, envelope.ok ? 200 : HTTP_STATUS[envelope.error.code], envelope)
      }
      if (this.init.webUi && (req.method === 'GET' || req.method === 'HEAD') && !url.pathname.startsWith(API_PREFIX)) {
        this.requests.inc({ route: 'ui', status: String(this.init.webUi.serve(req, res, url.pathname)) })
        return
      }
      throw new HttpError(404, { code: 'not_found', message: `no route ${req.method} ${url.pathname}` })
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.closeConnection) res.setHeader('Connection', 'close')
        return this.send(res, route, err.status, { ok: false, error: err.payload } satisfies Envelope<never>)
      }
      // Outside dispatch (reading the request, /metrics): reported as a handler's bug is.
      this.reportUnexpected(`${req.method ?? '?'} ${route}`, err)
      return this.send(res, route, 500, { ok: false, error: { code: 'internal', message: 'internal error' } } satisfies Envelope<never>)
    }
  }

  private send(res: ServerResponse, route: string, status: number, body: unknown): void {
    this.requests.inc({ route, status: String(status) })
    if (res.headersSent) return
    // Connections wait for a turn: this one does not keep its slot idle (keep-alive) meanwhile.
    if (this.gate?.busy) res.setHeader('Connection', 'close')
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    })
    res.end(text)
  }

  private authenticate(presented: string | undefined): void {
    if (!tokenMatches(this.init.token, presented)) {
      throw new HttpError(401, { code: 'unauthorized', message: 'missing or wrong API token (Authorization: Bearer <token from <data-dir>/api-token>)' })
    }
  }

  /**
   * Host must name this API (defeats DNS rebinding when bound to loopback); a browser's
   * Origin must be this API's own or an allowed one (no cross-origin calls).
   */
  private checkHostAndOrigin(req: IncomingMessage): void {
    const host = req.headers.host ?? ''
    const hostName = host.replace(/:\d+$/, '')
    const wildcard = this.init.host === '0.0.0.0' || this.init.host === '::'
    const knownHost = LOOPBACK_HOSTS.has(hostName) || hostName === this.init.host || hostName === `[${this.init.host}]`
    if (!wildcard && !knownHost) throw new HttpError(403, { code: 'forbidden', message: 'unknown Host' })
    const origin = req.headers.origin
    if (origin === undefined) return
    const own = [`http://${host}`]
    if (own.includes(origin) || (this.init.allowedOrigins ?? []).includes(origin)) return
    throw new HttpError(403, { code: 'forbidden', message: 'cross-origin requests are refused' })
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > this.init.maxBodyBytes) {
      throw new HttpError(413, { code: 'payload_too_large', message: `body larger than ${this.init.maxBodyBytes} bytes` }, true)
    }
    // Read by events rather than for-await: an oversized body must get its 413 answer, and
    // leaving a for-await early would destroy the socket before the answer is written.
    const body = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      const onData = (chunk: Buffer): void => {
        size += chunk.length
        if (size > this.init.maxBodyBytes) {
          req.off('data', onData)
          req.pause()
          reject(new HttpError(413, { code: 'payload_too_large', message: `body larger than ${this.init.maxBodyBytes} bytes` }, true))
          return
        }
        chunks.push(chunk)
      }
      req.on('data', onData)
      req.once('end', () => resolve(Buffer.concat(chunks)))
      // The client went away mid-body: its fault, not ours (no error log, no 500 in the metrics).
      req.once('error', () => reject(new HttpError(400, { code: 'invalid_params', message: 'the request body ended early' }, true)))
    })
    const size = body.length
    if (size === 0) return {}
    const type = req.headers['content-type'] ?? ''
    if (!/^application\/json\b/i.test(type)) {
      throw new HttpError(415, { code: 'invalid_params', message: 'Content-Type must be application/json' })
    }
    try {
      return JSON.parse(body.toString('utf8'))
    } catch {
      throw new HttpError(400, { code: 'invalid_params', message: 'body is not valid JSON' })
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.wss
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (!wss) return refuse(503, 'Service Unavailable')
    const url = requestUrl(req)
    if (!url) return refuse(400, 'Bad Request')
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found')
    try {
      this.checkHostAndOrigin(req)
    } catch {
      return refuse(403, 'Forbidden')
    }
    // Browsers cannot set headers on a WebSocket: the token comes as a subprotocol.
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    const fromProtocol = tokenFromSubprotocols(offered)
    const presented = fromProtocol ?? bearerToken(req.headers.authorization)
    if (!tokenMatches(this.init.token, presented)) return refuse(401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, (ws) => {
      ;(ws as WebSocket & { alive?: boolean }).alive = true
      ws.on('pong', () => {
        ;(ws as WebSocket & { alive?: boolean }).alive = true
      })
      // Events flow one way; anything a client sends is ignored, and errors only close it.
      ws.on('error', () => ws.terminate())
      ws.on('close', () => this.wsClients.set(wss.clients.size))
      this.wsClients.set(wss.clients.size)
      ws.send(JSON.stringify({ event: 'health', payload: this.components.health() }))
    })
  }

  private broadcast(event: string, payload: unknown): void {
    const wss = this.wss
    if (!wss || wss.clients.size === 0) return
    const text = JSON.stringify({ event, payload })
    const limit = this.init.maxClientBufferBytes ?? 4 * 1024 * 1024
    for (const ws of wss.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue
      if (ws.bufferedAmount > limit) {
        ws.terminate()
        continue
      }
      ws.send(text)
    }
  }
}
