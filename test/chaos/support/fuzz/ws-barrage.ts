// The WebSocket event transport under generated bad input: refused upgrades (token,
// subprotocol, origin, path), garbage messages on authenticated sockets (text, binary,
// oversized, pings), and raw frames no client library would send (bad opcodes, unmasked,
// reserved bits, bad UTF-8, lying lengths).
import { createHash, randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { WebSocket } from 'ws'
import { EVENTS_SUBPROTOCOL as WS_PROTOCOL } from '../../../../shared/web-api.js'
import { brokenJsonText, randomJson } from './json-mutator.js'
import type { Prng } from './prng.js'

export interface WsResult {
  inputs: number
  byKind: Record<string, number>
  /** Upgrades with bad credentials that were accepted: each one a bug. */
  wronglyAccepted: number
  /** Sockets the server closed on us (oversized or raw-invalid frames): expected. */
  serverCloses: number
}

function openSocket(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<{ ws: WebSocket | null; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: 10_000, maxPayload: 16 * 1024 * 1024 })
    ws.once('open', () => resolve({ ws, status: 101 }))
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ws: null, status: res.statusCode ?? 0 })
      ws.terminate()
    })
    ws.once('error', () => resolve({ ws: null, status: 0 }))
  })
}

/** A masked client frame with whatever header bits the caller wants. */
function frame(opts: { fin?: boolean; rsv?: number; opcode: number; payload: Uint8Array; mask?: boolean; lieLength?: number }): Buffer {
  const len = opts.lieLength ?? opts.payload.byteLength
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opts.opcode & 0x0f)]
  const maskBit = (opts.mask ?? true) ? 0x80 : 0
  if (len < 126) head.push(maskBit | len)
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff)
  else head.push(maskBit | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff)
  const key = randomBytes(4)
  const body = Buffer.from(opts.payload)
  if (opts.mask ?? true) for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!
  return Buffer.concat([Buffer.from(head), (opts.mask ?? true) ? key : Buffer.alloc(0), body])
}

/** A raw handshake by hand, then frames no library would send; resolves when the server closes (or after a timeout). */
function rawFrames(url: URL, token: string, frames: Buffer[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname)
    const key = randomBytes(16).toString('base64')
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
    let upgraded = false
    let buffered = ''
    const timer = setTimeout(() => done(false), 5_000)
    const done = (closedByServer: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(closedByServer)
    }
    socket.on('connect', () => {
      socket.write(`GET /api/events HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${WS_PROTOCOL}, token.${token}\r\n\r\n`)
    })
    socket.on('data', (d: Buffer) => {
      if (upgraded) return
      buffered += d.toString('latin1')
      if (!buffered.includes('\r\n\r\n')) return
      upgraded = buffered.startsWith('HTTP/1.1 101') && buffered.includes(accept)
      if (!upgraded) return done(false)
      for (const f of frames) socket.write(f)
    })
    socket.on('close', () => done(true))
    socket.on('error', () => done(true))
  })
}

function rawFrameSet(r: Prng): Buffer[] {
  const junk = r.bytes(r.between(0, 200))
  switch (r.int(8)) {
    case 0:
      return [frame({ opcode: r.pick([3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload: junk })]
    case 1:
      return [frame({ opcode: 1, payload: junk, mask: false })]
    case 2:
      return [frame({ opcode: 1, rsv: r.between(1, 7), payload: junk })]
    case 3:
      return [frame({ opcode: 1, payload: Uint8Array.from([0x7b, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x7d]) })]
    case 4:
      return [frame({ opcode: 9, payload: r.bytes(126 + r.int(200)) })] // a control frame above 125 bytes
    case 5:
      return [frame({ opcode: 1, payload: junk, lieLength: 2 ** 31 + r.int(1000) })]
    case 6:
      return [frame({ opcode: 0, payload: junk }), frame({ opcode: 8, payload: Uint8Array.from([0x03, 0xe8, 0xff]) })] // continuation without a start; close with bad UTF-8 reason
    default:
      return [frame({ fin: false, opcode: 1, payload: junk }), frame({ opcode: 2, payload: junk })] // a new message inside a fragmented one
  }
}

/**
 * `total` inputs: most are messages on authenticated sockets (`sockets` of them, reopened
 * when the server closes one), some are refused upgrades, some raw invalid frames.
 */
export async function wsBarrage(opts: { apiUrl: string; token: string; total: number; sockets: number; r: Prng; deadlineMs: number }): Promise<WsResult> {
  const { r, token } = opts
  const url = new URL(opts.apiUrl)
  const wsUrl = `ws://${url.host}/api/events`
  const result: WsResult = { inputs: 0, byKind: {}, wronglyAccepted: 0, serverCloses: 0 }
  const count = (kind: string): void => {
    result.inputs++
    result.byKind[kind] = (result.byKind[kind] ?? 0) + 1
  }
  const deadline = Date.now() + opts.deadlineMs
  const lane = async (): Promise<void> => {
    let ws: WebSocket | null = null
    while (result.inputs < opts.total && Date.now() < deadline) {
      const roll = r.int(100)
      if (roll < 4) {
        const [protocols, headers, path] = r.pick<[string[], Record<string, string>, string]>([
          [[WS_PROTOCOL], {}, '/api/events'],
          [[WS_PROTOCOL, `token.${token}x`], {}, '/api/events'],
          [[WS_PROTOCOL, 'token.'], {}, '/api/events'],
          [[WS_PROTOCOL], { Authorization: `Bearer ${token.slice(2)}` }, '/api/events'],
          [[WS_PROTOCOL, `token.${token}`], { Origin: 'http://evil.example' }, '/api/events'],
          [[WS_PROTOCOL, `token.${token}`], {}, '/api/eventsx'],
          [[WS_PROTOCOL, `token.${token}`], {}, '/api/getHealth'],
          [[WS_PROTOCOL, `token.${token}`], { Host: 'evil.example' }, '/api/events'],
        ])
        const attempt = await openSocket(`ws://${url.host}${path}`, protocols, headers)
        if (attempt.ws) {
          result.wronglyAccepted++
          attempt.ws.terminate()
        }
        count('refused-upgrade')
        continue
      }
      if (roll < 7) {
        if (await rawFrames(url, token, rawFrameSet(r))) result.serverCloses++
        count('raw-frame')
        continue
      }
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        ws = (await openSocket(wsUrl, [WS_PROTOCOL, `token.${token}`])).ws
        if (!ws) throw new Error('an authenticated WebSocket was refused')
        ws.on('close', () => {
          result.serverCloses++
        })
        ws.on('error', () => {})
      }
      const kind = r.int(10)
      if (kind < 4) ws.send(JSON.stringify(randomJson(r)))
      else if (kind < 6) ws.send(brokenJsonText(r, { method: 'getHealth', params: {} }))
      else if (kind < 8) ws.send(r.bytes(r.between(0, 2000)), { binary: true })
      else if (kind < 9) ws.ping(r.bytes(r.int(125)))
      else ws.send(Buffer.alloc(64 * 1024 + 1 + r.int(4096), 0x61)) // above the server's maxPayload: it closes with 1009
      count(['json', 'json', 'json', 'json', 'broken-json', 'broken-json', 'binary', 'binary', 'ping', 'oversized'][kind]!)
      if (ws.bufferedAmount > 1024 * 1024) await new Promise((res) => setTimeout(res, 5))
      if (result.inputs % 200 === 0) await new Promise((res) => setImmediate(res))
    }
    ws?.terminate()
  }
  await Promise.all(Array.from({ length: opts.sockets }, lane))
  return result
}
