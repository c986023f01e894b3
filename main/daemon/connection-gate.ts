import type { Socket } from 'node:net'

export interface ConnectionGateInit {
  /** Connections served at once (each may carry keep-alive requests). */
  maxConnections: number
  /** Connections waiting for a turn; past this they are answered 503 at once. */
  maxWaiting: number
  /** How long a connection may wait for a turn before it is answered 503. */
  maxWaitMs: number
}

/** The raw answer for a connection that gets no turn: the caller learns its request was not processed. */
const BUSY = (retryAfterSec: number): string => {
  const body = JSON.stringify({ ok: false, error: { code: 'unavailable', message: 'the API is serving as many connections as it allows; nothing was done, try again shortly', details: { retryAfterMs: retryAfterSec * 1000 } } })
  return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: ${retryAfterSec}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
}

/** A refused connection may still be writing its request; it is read and thrown away this long, then cut. */
const REFUSED_LINGER_MS = 2_000

/**
 * Admission for the API's connections: a fixed number are served at once, more wait in a
 * bounded queue (paused: nothing of theirs is read or parsed, and the HTTP server has not
 * seen them, so its own timeouts start only with their turn), and past the
 * queue, or after waiting too long, a connection is answered `503` with `Retry-After`
 * instead of being dropped, so a caller always learns that its request was not processed.
 * A hostile local process still holds at most served + waiting sockets, each briefly.
 */
export class ConnectionGate {
  private readonly served = new Set<Socket>()
  private readonly waiting: { socket: Socket; timer: NodeJS.Timeout }[] = []
  onRefused: () => void = () => {}

  constructor(
    private readonly init: ConnectionGateInit,
    /** Hands a connection its turn (to the HTTP server). */
    private readonly hand: (socket: Socket) => void,
  ) {}

  get busy(): boolean {
    return this.waiting.length > 0
  }

  get counts(): { served: number; waiting: number } {
    return { served: this.served.size, waiting: this.waiting.length }
  }

  /** A new connection, paused: nothing of it has been read yet. */
  admit(socket: Socket): void {
    socket.on('error', () => {})
    if (this.served.size < this.init.maxConnections) {
      this.serve(socket)
      return
    }
    if (this.waiting.length >= this.init.maxWaiting) {
      this.refuse(socket)
      return
    }
    const entry = {
      socket,
      timer: setTimeout(() => {
        this.drop(socket)
        this.refuse(socket)
      }, this.init.maxWaitMs),
    }
    this.waiting.push(entry)
    socket.once('close', () => {
      clearTimeout(entry.timer)
      this.drop(socket)
    })
  }

  private serve(socket: Socket): void {
    this.served.add(socket)
    socket.once('close', () => {
      this.served.delete(socket)
      this.next()
    })
    this.hand(socket)
  }

  private next(): void {
    while (this.served.size < this.init.maxConnections && this.waiting.length > 0) {
      const { socket, timer } = this.waiting.shift()!
      clearTimeout(timer)
      if (socket.destroyed) continue
      this.serve(socket)
    }
  }

  private drop(socket: Socket): void {
    const at = this.waiting.findIndex((w) => w.socket === socket)
    if (at >= 0) this.waiting.splice(at, 1)
  }

  private refuse(socket: Socket): void {
    this.onRefused()
    if (socket.destroyed) return
    // Never handed to the HTTP server: only this raw answer goes out. What the client still
    // writes is read and thrown away, so closing does not reset the connection under it.
    socket.on('data', () => {})
    socket.resume()
    socket.end(BUSY(1))
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref()
  }

  /** Stop: nobody waits any more. */
  clear(): void {
    for (const { socket, timer } of this.waiting.splice(0)) {
      clearTimeout(timer)
      socket.destroy()
    }
  }
}
