import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiHandlers } from '../../shared/contract/index.js'
import { tempDir } from '../../test/helpers/processes.js'
import { resolveStaticPath } from '../hosts/static-files.js'
import { EventBus } from '../kit/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { ApiServer } from './api-server.js'
import { WebUi } from './web-ui.js'

const SECRET = 'the-secret-next-to-the-web-root'
let dir: { path: string; remove: () => void }
let built: ApiServer
let unbuilt: ApiServer

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    // The path goes out exactly as written (no client-side normalisation), as an attacker would send it.
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end()
  })
}

function server(root: string): ApiServer {
  const handlers = { getHealth: async () => ({}) } as unknown as ApiHandlers
  return new ApiServer(
    { handlers, events: new EventBus(), health: () => ({ status: 'ok' }) as never, ready: () => true, metrics: new Metrics(), logger: silentLogger },
    { host: '127.0.0.1', port: 0, token: 't'.repeat(43), maxBodyBytes: 4096, webUi: new WebUi({ root }) },
  )
}

beforeAll(async () => {
  dir = tempDir()
  const root = join(dir.path, 'renderer')
  mkdirSync(join(root, 'assets'), { recursive: true })
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>')
  writeFileSync(join(root, 'assets', 'app-1234.js'), 'console.log(1)')
  writeFileSync(join(root, 'assets', 'app-1234.css'), 'body{}')
  writeFileSync(join(dir.path, 'secret.txt'), SECRET)
  writeFileSync(join(dir.path, 'renderer-evil.txt'), SECRET)
  built = server(root)
  unbuilt = server(join(dir.path, 'nothing-here'))
  await built.start()
  await unbuilt.start()
})

afterAll(async () => {
  await built.stop()
  await unbuilt.stop()
  dir.remove()
})

describe('daemon web UI', () => {
  it('serves the renderer with content types and a strict CSP', async () => {
    const index = await get(built.url, '/')
    expect(index.status).toBe(200)
    expect(index.headers['content-type']).toMatch(/^text\/html/)
    expect(index.headers['cache-control']).toBe('no-store')
    const csp = String(index.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    expect(index.headers['x-content-type-options']).toBe('nosniff')
    const js = await get(built.url, '/assets/app-1234.js')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toMatch(/^text\/javascript/)
    expect(js.headers['content-security-policy']).toBeDefined()
    expect((await get(built.url, '/assets/app-1234.css')).headers['content-type']).toMatch(/^text\/css/)
  })

  it('falls back to index.html for app paths, 404 for missing files', async () => {
    const deep = await get(built.url, '/peers')
    expect(deep.status).toBe(200)
    expect(deep.body).toContain('<title>app</title>')
    expect((await get(built.url, '/assets/missing.js')).status).toBe(404)
  })

  it('refuses every directory traversal attempt', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/..\\secret.txt',
      '/%2e%2e%5csecret.txt',
      '/../renderer-evil.txt',
      '/assets/%00../secret.txt',
      `/${'..%2f'.repeat(8)}etc/passwd`,
    ]
    for (const path of attempts) {
      const res = await get(built.url, path)
      expect(res.body, path).not.toContain(SECRET)
      expect(res.body, path).not.toContain('root:')
    }
    expect(resolveStaticPath('/srv/ui', '/../secret.txt')).toBeNull()
    expect(resolveStaticPath('/srv/ui', '/%2e%2e/secret.txt')).toBeNull()
    expect(resolveStaticPath('/srv/ui', '/a/%2e%2e%2f%2e%2e/secret.txt')).toBeNull()
    expect(resolveStaticPath('/srv/ui', '/x%00y')).toBeNull()
    expect(resolveStaticPath('/srv/ui', '/%E0%A4%A')).toBeNull()
    expect(resolveStaticPath('/srv/ui', '/assets/app.js')).toBe('/srv/ui/assets/app.js')
  })

  it('leaves the API, probes and auth alone', async () => {
    expect((await get(built.url, '/api/getHealth')).status).toBe(405)
    const health = await get(built.url, '/health')
    expect(health.headers['content-type']).toMatch(/^application\/json/)
    // The Host check guards the UI too (DNS rebinding).
    expect((await get(built.url, '/', { Host: 'evil.example' })).status).toBe(403)
  })

  it('says how to build the renderer when it is missing', async () => {
    const res = await get(unbuilt.url, '/')
    expect(res.status).toBe(503)
    expect(res.body).toContain('npm run build:renderer')
  })
})
