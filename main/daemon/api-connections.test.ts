// The API's connection limits on a real HTTP server: a cap on connections served at once,
// a bounded queue of connections waiting their turn, and past it an answer (503 with
// Retry-After), never a reset; a client that never finishes its headers is cut off near
// the headers timeout, not 30 s later.
import { type Socket, connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiHandlers } from '../../shared/contract/index.js'
import { EventBus } from '../kit/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { ApiServer, CONNECTION_WAIT_MS, HEADERS_TIMEOUT_MS } from './api-server.js'

const MAX_CONNECTIONS = 4
const MAX_WAITING = 2
let api: ApiServer
let port: number

/** A raw connection; `closed` resolves with what the server sent before it closed the socket. */
function open(): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let got = ''
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1')
    })
    const closed = new Promise<string>((done) => socket.once('close', () => done(got)))
    socket.once('connect', () => resolve({ socket, closed }))
    socket.once('error', reject)
  })
}

/** Resolves with what the promise gave, or 'open' if it has not settled after `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'open'> => Promise.race([p, new Promise<'open'>((r) => setTimeout(() => r('open'), ms))])

const healthRequest = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'

beforeAll(async () => {
  const handlers = { getHealth: async () => ({}) } as unknown as ApiHandlers
  api = new ApiServer(
    { handlers, events: new EventBus(), health: () => ({ status: 'ok' }) as never, ready: () => true, metrics: new Metrics(), logger: silentLogger },
    { host: '127.0.0.1', port: 0, token: 't'.repeat(43), maxBodyBytes: 4096, maxConnections: MAX_CONNECTIONS, maxWaitingConnections: MAX_WAITING },
  )
  await api.start()
  port = api.port
})

afterAll(async () => {
  await api.stop()
})

describe('API connection limits', () => {
  it('serves maxConnections at once, lets a few wait their turn, and answers the rest 503 with Retry-After: never a silent drop', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, open))
    const waiting = await Promise.all(Array.from({ length: MAX_WAITING }, open))
    for (const w of waiting) w.socket.write(healthRequest)
    // Past the queue: an answer at once, saying nothing was done.
    const extra = await open()
    extra.socket.on('error', () => {})
    extra.socket.write(healthRequest)
    const refused = String(await within(extra.closed, 5_000))
    expect(refused).toMatch(/^HTTP\/1\.1 503 /)
    expect(refused).toMatch(/\r\nRetry-After: 1\r\n/)
    expect(refused).toContain('"code":"unavailable"')
    // Those waiting are neither answered nor dropped while every slot is busy...
    for (const w of waiting) expect(await within(w.closed, 200)).toBe('open')
    for (const { closed } of held) expect(await within(closed, 200)).toBe('open')
    // ... and are served as soon as slots free up.
    for (const { socket } of held) socket.destroy()
    for (const w of waiting) expect(String(await within(w.closed, 5_000))).toMatch(/^HTTP\/1\.1 200/)
  })

  it('a connection that waits too long for a turn is answered 503, not dropped', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, open))
    const waiter = await open()
    waiter.socket.write(healthRequest)
    const started = Date.now()
    const answer = String(await within(waiter.closed, CONNECTION_WAIT_MS + 5_000))
    expect(answer).toMatch(/^HTTP\/1\.1 503 /)
    expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECTION_WAIT_MS - 100)
    for (const { socket } of held) socket.destroy()
  }, 20_000)

  it('answers 408 and closes a connection whose headers never finish, soon after the headers timeout', async () => {
    const slow = await open()
    const started = Date.now()
    slow.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
    const answer = await within(slow.closed, HEADERS_TIMEOUT_MS + 10_000)
    // A generous bound: Node checks once a second here; by default it checked every 30 s.
    expect(Date.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 5_000)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
  }, 30_000)
})
