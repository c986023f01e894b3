import { createReadStream, existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join, resolve } from 'node:path'
import { RENDERER_CSP, contentTypeFor, findStaticFile } from '../hosts/static-files.js'

/**
 * Where `npm run build:renderer` puts the renderer: <root>/dist/renderer seen from
 * main/daemon/ when run from source, or a sibling folder when this file is bundled into dist/.
 */
const DEFAULT_RENDERER_DIR = [resolve(import.meta.dirname, '..', '..', 'dist', 'renderer'), resolve(import.meta.dirname, '..', 'renderer')].find((dir) =>
  existsSync(join(dir, 'index.html')),
) ?? resolve(import.meta.dirname, '..', '..', 'dist', 'renderer')

const SECURITY_HEADERS = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=()',
}

const NOT_BUILT = `The web UI has not been built yet.

Run \`npm run build:renderer\` in the project folder, then reload this page.
The API (/api/*), /health, /ready and /metrics work without it.
`

/**
 * The daemon's web UI: the built renderer as static files, with the same strict CSP the
 * app uses. Paths outside the folder are refused; an unknown path without a file
 * extension gets index.html (the renderer routes on the URL fragment, but a reload of a
 * deep link must not 404). Everything else about the request (auth, Host, Origin) is the
 * API server's job and has already happened.
 */
export class WebUi {
  readonly root: string

  constructor(init: { root?: string } = {}) {
    this.root = resolve(init.root ?? DEFAULT_RENDERER_DIR)
  }

  get built(): boolean {
    return existsSync(join(this.root, 'index.html'))
  }

  /** Answers a GET or HEAD; returns the status sent. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): number {
    if (!this.built) return this.text(res, 503, NOT_BUILT)
    if (pathname.split('/').some((seg) => seg === '..' || /%2e%2e/i.test(seg) || /%2f|%5c/i.test(seg))) return this.text(res, 400, 'Bad path.\n')
    let file = findStaticFile(this.root, pathname === '/' ? '/index.html' : pathname)
    if (!file) {
      const last = pathname.split('/').pop() ?? ''
      if (last.includes('.')) return this.text(res, 404, 'Not found.\n')
      file = join(this.root, 'index.html')
    }
    const isHtml = file.endsWith('.html')
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': contentTypeFor(file),
      // Hashed asset names never change; the page itself must always be fresh.
      'Cache-Control': isHtml ? 'no-store' : 'public, max-age=31536000, immutable',
    })
    if (req.method === 'HEAD') {
      res.end()
      return 200
    }
    const stream = createReadStream(file)
    stream.on('error', () => res.destroy())
    stream.pipe(res)
    return 200
  }

  private text(res: ServerResponse, status: number, body: string): number {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
    return status
  }
}
