import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { RENDERER_CSP, contentTypeFor, findStaticFile } from '../hosts/static-files.js'
import { APP_HOST } from './security.js'

const HEADERS = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
}

/**
 * The `app://bundle/…` handler: files of the built renderer only, the same path check
 * as the daemon's web UI, the CSP as a header, and index.html for app routes. Written
 * against the Fetch API's Request/Response, so Node tests can call it directly.
 */
export function createAppProtocolHandler(root: string): (request: Request) => Promise<Response> {
  const base = resolve(root)
  return async (request) => {
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      return new Response('Bad request', { status: 400, headers: HEADERS })
    }
    if (url.host !== APP_HOST || request.method !== 'GET') return new Response('Not found', { status: 404, headers: HEADERS })
    let file = findStaticFile(base, url.pathname === '/' ? '/index.html' : url.pathname)
    if (!file) {
      if ((url.pathname.split('/').pop() ?? '').includes('.')) return new Response('Not found', { status: 404, headers: HEADERS })
      file = join(base, 'index.html')
    }
    try {
      const body = await readFile(file)
      return new Response(body, { status: 200, headers: { ...HEADERS, 'Content-Type': contentTypeFor(file) } })
    } catch {
      return new Response('Not found', { status: 404, headers: HEADERS })
    }
  }
}
