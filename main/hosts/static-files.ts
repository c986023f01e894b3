// How both hosts serve the built renderer (the daemon over HTTP, Electron through app://):
// one path resolution, one content-type table, one CSP.
import { existsSync, statSync } from 'node:fs'
import { extname, isAbsolute, relative, resolve, sep } from 'node:path'

/** The renderer's policy: everything from our own origin, nothing inline, no eval, no frames. */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * The file under `root` a URL path names, or null when it names nothing there. The path is
 * decoded once, resolved, and must stay inside root: `..`, encoded `%2e%2e`, backslashes,
 * NUL bytes and absolute paths all end up refused.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null
  const base = resolve(root)
  const target = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`)
  const rel = relative(base, target)
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null
  return target
}

/** An existing regular file under root for the path, or null. */
export function findStaticFile(root: string, urlPath: string): string | null {
  const path = resolveStaticPath(root, urlPath)
  if (!path || !existsSync(path)) return null
  try {
    return statSync(path).isFile() ? path : null
  } catch {
    return null
  }
}
