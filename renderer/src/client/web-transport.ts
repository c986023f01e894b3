import { type Envelope, ErrorPayloadSchema } from '../../../shared/contract/errors.js'
import { API_PREFIX, EVENTS_PATH, eventsSubprotocols } from '../../../shared/web-api.js'
import { type ConnectionState, EventRouter, Listeners, type Transport } from './transport.js'

export interface WebTransportInit {
  /** The daemon's origin, e.g. `http://127.0.0.1:4002`; the page's own origin in the web UI. */
  baseUrl: string
  token: string
  /** First reconnect delay; doubles per failure up to maxDelayMs, with full jitter. Default 250. */
  baseDelayMs?: number
  /** Default 5000: the UI is back within seconds of the daemon. */
  maxDelayMs?: number
  /** Per call; default 60 s (a dial through a relay can take a while). */
  callTimeoutMs?: number
  /** For tests under Node; defaults to the globals. */
  WebSocket?: typeof WebSocket
  fetch?: typeof fetch
  random?: () => number
}

interface SocketLike {
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  close(code?: number): void
}

const unreachable = (): Envelope<never> => ({
  ok: false,
  error: { code: 'unavailable', message: 'Cannot reach the wallet service. Check that the daemon is running.' },
})

/** Exponential backoff with full jitter: a random delay in [0, min(max, base·2^n)]. */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20))
  return Math.round(random() * ceiling)
}

/**
 * The browser transport: every call is `POST /api/<method>` with the bearer token, events
 * come over one WebSocket at `/api/events` (shared/web-api.ts: the token rides as a
 * subprotocol, since a browser cannot set headers there). The socket reconnects with backoff; every `open`
 * tells subscribers to reload their snapshots, so nothing missed while away stays stale.
 */
export function webTransport(init: WebTransportInit): Transport {
  const base = init.baseUrl.replace(/\/+$/, '')
  const wsUrl = `${base.replace(/^http/, 'ws')}${EVENTS_PATH}`
  const WS = init.WebSocket ?? globalThis.WebSocket
  const doFetch = init.fetch ?? globalThis.fetch.bind(globalThis)
  const random = init.random ?? Math.random
  const baseDelay = init.baseDelayMs ?? 250
  const maxDelay = init.maxDelayMs ?? 5000
  const callTimeout = init.callTimeoutMs ?? 60_000

  const router = new EventRouter()
  const states = new Listeners<[ConnectionState]>()
  let state: ConnectionState = 'connecting'
  let socket: SocketLike | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let failures = 0

  const setState = (next: ConnectionState): void => {
    if (next === state) return
    state = next
    states.emit(next)
  }

  const scheduleReconnect = (): void => {
    if (state === 'closed' || retryTimer) return
    setState('reconnecting')
    const delay = reconnectDelay(failures++, baseDelay, maxDelay, random)
    retryTimer = setTimeout(() => {
      retryTimer = null
      connect()
    }, delay)
  }

  const connect = (): void => {
    if (state === 'closed') return
    let ws: SocketLike
    try {
      ws = new WS(wsUrl, eventsSubprotocols(init.token)) as unknown as SocketLike
    } catch {
      scheduleReconnect()
      return
    }
    socket = ws
    ws.onopen = () => {
      if (socket !== ws) return
      failures = 0
      setState('open')
    }
    ws.onmessage = (ev) => {
      if (socket !== ws || typeof ev.data !== 'string') return
      let message: unknown
      try {
        message = JSON.parse(ev.data)
      } catch {
        return
      }
      if (!message || typeof message !== 'object') return
      const { event, payload } = message as { event?: unknown; payload?: unknown }
      if (typeof event === 'string') router.emit(event, payload)
    }
    ws.onerror = () => {
      // onclose follows and decides what happens next
    }
    ws.onclose = () => {
      if (socket !== ws) return
      socket = null
      scheduleReconnect()
    }
  }

  connect()

  return {
    async call(method, params) {
      let res: Response
      try {
        res = await doFetch(`${base}${API_PREFIX}${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${init.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(params ?? {}),
          signal: AbortSignal.timeout(callTimeout),
          credentials: 'omit',
          cache: 'no-store',
        })
      } catch (err) {
        if ((err as Error)?.name === 'TimeoutError') return { ok: false, error: { code: 'timeout', message: 'The wallet service did not answer in time.' } }
        return unreachable()
      }
      let body: unknown
      try {
        body = await res.json()
      } catch {
        return { ok: false, error: { code: 'internal', message: `Unexpected answer from the wallet service (HTTP ${res.status}).` } }
      }
      return asEnvelope(body, res.status)
    },
    on: (event, listener) => router.on(event, listener),
    onState(listener) {
      listener(state)
      return states.add(listener)
    },
    close() {
      if (state === 'closed') return
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      const ws = socket
      socket = null
      setState('closed')
      ws?.close(1000)
      router.clear()
      states.clear()
    },
  }
}

function asEnvelope(body: unknown, status: number): Envelope<unknown> {
  if (body && typeof body === 'object' && 'ok' in body) {
    const b = body as { ok: unknown; result?: unknown; error?: unknown }
    if (b.ok === true) return { ok: true, result: b.result }
    const error = ErrorPayloadSchema.safeParse(b.error)
    if (b.ok === false && error.success) return { ok: false, error: error.data }
  }
  return { ok: false, error: { code: 'internal', message: `Unexpected answer from the wallet service (HTTP ${status}).` } }
}
