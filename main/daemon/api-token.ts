import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const API_TOKEN_FILE = 'api-token'

/** The bearer token of the daemon's API: made on first start, kept in the data dir (0600). */
export function loadOrCreateApiToken(dataDir: string): string {
  const path = join(dataDir, API_TOKEN_FILE)
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim()
    if (/^[A-Za-z0-9_-]{32,256}$/.test(token)) {
      chmodSync(path, 0o600)
      return token
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('base64url')
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 })
  renameSync(tmp, path)
  return token
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (!presented) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(presented)
  return a.length === b.length && timingSafeEqual(a, b)
}
