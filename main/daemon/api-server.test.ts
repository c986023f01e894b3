import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { tempDir } from '../../test/helpers/processes.js'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { validateConfig } from '../config/index.js'
import { Daemon } from './daemon.js'

let daemon: Daemon
let dir: { path: string; remove: () => void }
let base: string
let token: string
let devnet: DevnetServer

/** Raw HTTP, so tests can set Host and Origin as a browser or an attacker would. */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; body: any }> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // text body (metrics)
        }
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.on('error', reject)
    if (opts.body) req.write(opts.body)
    req.end()
  })
}

const auth = (): Record<string, string> => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' })

beforeAll(async () => {
  dir = tempDir()
  devnet = new DevnetServer({ port: 0 })
  await devnet.start()
  daemon = new Daemon(validateConfig({ dataDir: dir.path, network: 'devnet', chainUrl: devnet.url, logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false }, api: { port: 0, maxBodyBytes: 4096 } }))
  await daemon.start()
  base = daemon.api.url
  token = (await import('node:fs')).readFileSync(`${dir.path}/api-token`, 'utf8').trim()
})

afterAll(async () => {
  await daemon.stop()
  await devnet.stop()
  dir.remove()
})

describe('daemon HTTP API', () => {
  it('serves /health without auth and with every field the probes rely on', async () => {
    const res = await raw('/health')
    expect(res.status).toBe(200)
    for (const key of ['status', 'relay', 'peerId', 'connections', 'peers', 'uptimeSeconds', 'memory', 'version', 'multiaddrs']) expect(res.body).toHaveProperty(key)
    expect(res.body.relay.state).toBe('disabled')
    expect(res.body.status).toBe('ok')
    expect(res.body.memory.rss).toBeGreaterThan(0)
    expect(JSON.stringify(res.body)).not.toContain(token)
  })

  it('serves Prometheus text at /metrics with process and engine metrics', async () => {
    const res = await raw('/metrics')
    expect(res.status).toBe(200)
    expect(res.body).toMatch(/bsv_p2p_process_resident_memory_bytes/)
    expect(res.body).toMatch(/bsv_p2p_api_requests_total/)
  })

  it('requires the bearer token for every method', async () => {
    expect((await raw('/api/getHealth', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(401)
    const wrong = await raw('/api/getHealth', { method: 'POST', headers: { Authorization: `Bearer ${'x'.repeat(token.length)}`, 'Content-Type': 'application/json' }, body: '{}' })
    expect(wrong.status).toBe(401)
    expect(wrong.body.error.code).toBe('unauthorized')
    // The right token under any scheme but Bearer, or with none, is still refused.
    for (const header of [token, `Basic ${token}`, `Token ${token}`, `Bearer${token}`]) {
      const res = await raw('/api/getHealth', { method: 'POST', headers: { Authorization: header, 'Content-Type': 'application/json' }, body: '{}' })
      expect(res.status, header.replace(token, '<token>')).toBe(401)
    }
    const ok = await raw('/api/getHealth', { method: 'POST', headers: auth(), body: '{}' })
    expect(ok.status).toBe(200)
    expect(ok.body.ok).toBe(true)
    expect(ok.body.result.peerId).toBe(daemon.engine.p2p.peerId)
  })

  it('refuses cross-origin browser requests and foreign Host headers', async () => {
    const cross = await raw('/api/getHealth', { method: 'POST', headers: { ...auth(), Origin: 'https://evil.example' }, body: '{}' })
    expect(cross.status).toBe(403)
    expect(cross.body.error.code).toBe('forbidden')
    const rebinding = await raw('/api/getHealth', { method: 'POST', headers: { ...auth(), Host: 'evil.example' }, body: '{}' })
    expect(rebinding.status).toBe(403)
    const same = await raw('/api/getHealth', { method: 'POST', headers: { ...auth(), Origin: base }, body: '{}' })
    expect(same.status).toBe(200)
  })

  it('answers bad input with a typed 4xx error and changes nothing', async () => {
    const badParams = await raw('/api/connectPeer', { method: 'POST', headers: auth(), body: JSON.stringify({ multiaddr: 'not a multiaddr' }) })
    expect(badParams.status).toBe(400)
    expect(badParams.body.error.code).toBe('invalid_params')
    expect(badParams.body.error.details.issues[0].path).toBe('multiaddr')
    const extra = await raw('/api/listPeers', { method: 'POST', headers: auth(), body: JSON.stringify({ surprise: 1 }) })
    expect(extra.status).toBe(400)
    const unknown = await raw('/api/stealFunds', { method: 'POST', headers: auth(), body: '{}' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('unknown_method')
    const notJson = await raw('/api/listPeers', { method: 'POST', headers: auth(), body: '{oops' })
    expect(notJson.status).toBe(400)
    const tooBig = await raw('/api/listPeers', { method: 'POST', headers: auth(), body: JSON.stringify({ pad: 'x'.repeat(10_000) }) })
    expect(tooBig.status).toBe(413)
    expect(tooBig.body.error.code).toBe('payload_too_large')
    const declared = Buffer.from(JSON.stringify({ pad: 'y'.repeat(10_000) }))
    const tooBigDeclared = await raw('/api/listPeers', { method: 'POST', headers: { ...auth(), 'Content-Length': String(declared.length) }, body: declared })
    expect(tooBigDeclared.status).toBe(413)
    const wrongType = await raw('/api/listPeers', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, body: '{}' })
    expect(wrongType.status).toBe(415)
    const dial = await raw('/api/connectPeer', { method: 'POST', headers: auth(), body: JSON.stringify({ multiaddr: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ' }) })
    expect(dial.status).toBeGreaterThanOrEqual(400)
    expect(dial.body.ok).toBe(false)
    expect(typeof dial.body.error.code).toBe('string')
    expect((await raw('/health')).status).toBe(200)
  })

  it('answers request targets that are not URLs and broken percent-encoding with a 400, never a 500 or silence', async () => {
    // Found by the chaos suite's malformed-input barrage: these threw outside the handler's try
    // (no answer, an unhandled rejection; an uncaught exception on the upgrade path) or became a 500.
    const { port, hostname } = new URL(base)
    const rawText = (text: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(Number(port), hostname, () => socket.write(text))
        let got = ''
        const timer = setTimeout(() => socket.destroy(), 5_000)
        socket.on('data', (d: Buffer) => {
          got += d.toString('latin1')
        })
        socket.on('close', () => {
          clearTimeout(timer)
          resolve(got)
        })
        socket.on('error', () => {})
        socket.setTimeout(1_000, () => socket.end())
      })
    const host = `Host: ${new URL(base).host}`
    expect(await rawText(`GET http://[ HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /)
    expect(await rawText(`GET http://[/api/events HTTP/1.1\r\n${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /)
    const badEscape = await rawText(`POST /api/%E0%A4%A HTTP/1.1\r\n${host}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
    expect(badEscape).toMatch(/^HTTP\/1\.1 400 /)
    expect(badEscape).toContain('"code":"invalid_params"')
    const metrics = (await raw('/metrics')).body as string
    expect(metrics).not.toMatch(/bsv_p2p_api_requests_total\{route="[^"]*",status="500"\}/)
    expect((await raw('/health')).status).toBe(200)
  })

  it('counts a client that leaves mid-body as a bad request, not an internal error', async () => {
    const { port, hostname } = new URL(base)
    const count = async (status: string): Promise<number> => {
      const line = ((await raw('/metrics')).body as string).split('\n').find((l) => l.startsWith(`bsv_p2p_api_requests_total{route="api",status="${status}"}`))
      return line ? Number(line.split(' ').pop()) : 0
    }
    const before = await count('400')
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /api/getHealth HTTP/1.1\r\nHost: ${new URL(base).host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`)
      setTimeout(() => socket.destroy(), 100)
    })
    socket.on('error', () => {})
    for (let i = 0; i < 50 && (await count('400')) === before; i++) await new Promise((r) => setTimeout(r, 20))
    expect(await count('400')).toBe(before + 1)
    expect(await count('500')).toBe(0)
  })

  it('streams contract events over an authenticated WebSocket', async () => {
    const wsUrl = `${base.replace('http', 'ws')}/api/events`
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, ['bsv-p2p.v1', 'token.wrong'])
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('open', () => resolve(101))
    })
    expect(refused).toBe(401)
    const ws = new WebSocket(wsUrl, ['bsv-p2p.v1', `token.${token}`])
    const first = await new Promise<{ event: string; payload: { status: string } }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))))
      ws.once('error', reject)
    })
    expect(first.event).toBe('health')
    expect(first.payload.status).toBe('ok')
    const next = new Promise<{ event: string }>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))))
    daemon.engine.events.emit('peers', [])
    expect((await next).event).toBe('peers')
    ws.close()
  })
})
