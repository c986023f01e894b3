import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Session, WebContents } from 'electron'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { createAppProtocolHandler } from './app-protocol.js'
import { APP_ENTRY_URL, APP_SCHEME_PRIVILEGES, BLOCKED_REQUEST_URLS, hardenSession, hardenWebContents, isAppUrl, secureWebPreferences } from './security.js'

describe('window security settings', () => {
  it('isolates and sandboxes the page with no Node in it', () => {
    const prefs = secureWebPreferences('/app/dist/preload/index.cjs', false)
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      devTools: false,
      disableBlinkFeatures: 'Auxclick',
    })
    expect(prefs.preload).toMatch(/\.cjs$/)
    expect(prefs).not.toHaveProperty('enableBlinkFeatures')
    expect(prefs).not.toHaveProperty('additionalArguments')
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true, bypassCSP: false, corsEnabled: false })
  })

  it('blocks navigation away, redirects, webviews and new windows', () => {
    const listeners = new Map<string, (event: { preventDefault: () => void }, url?: string) => void>()
    let openHandler: ((d: { url: string }) => { action: string }) | null = null
    const contents = {
      on: (name: string, l: (event: { preventDefault: () => void }, url?: string) => void) => listeners.set(name, l),
      setWindowOpenHandler: (h: typeof openHandler) => (openHandler = h),
    } as unknown as WebContents
    const blocked: string[] = []
    hardenWebContents(contents, (what) => blocked.push(what))
    const navigate = (event: string, url?: string): boolean => {
      let prevented = false
      listeners.get(event)!({ preventDefault: () => (prevented = true) }, url)
      return prevented
    }
    expect(navigate('will-navigate', 'https://evil.example/')).toBe(true)
    expect(navigate('will-navigate', 'file:///etc/passwd')).toBe(true)
    expect(navigate('will-navigate', 'app://other/index.html')).toBe(true)
    expect(navigate('will-navigate', `${APP_ENTRY_URL}#/peers`)).toBe(false)
    expect(navigate('will-redirect', 'http://127.0.0.1:1/')).toBe(true)
    expect(navigate('will-attach-webview')).toBe(true)
    expect(openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
    expect(openHandler!({ url: APP_ENTRY_URL })).toEqual({ action: 'deny' })
    expect(blocked).toEqual(['navigation', 'navigation', 'navigation', 'redirect', 'webview', 'window.open', 'window.open'])
    expect(isAppUrl('app://bundle.evil.example/')).toBe(false)
    expect(isAppUrl('nonsense')).toBe(false)
  })

  it('refuses every permission and every remote request', () => {
    const calls: Record<string, unknown> = {}
    const session = {
      setPermissionRequestHandler: (h: unknown) => (calls.request = h),
      setPermissionCheckHandler: (h: unknown) => (calls.check = h),
      setDevicePermissionHandler: (h: unknown) => (calls.device = h),
      webRequest: { onBeforeRequest: (filter: unknown, h: unknown) => ((calls.filter = filter), (calls.before = h)) },
    } as unknown as Session
    hardenSession(session)
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | null = null
      ;(calls.request as (wc: unknown, p: string, cb: (ok: boolean) => void) => void)({}, permission, (ok) => (granted = ok))
      expect(granted).toBe(false)
    }
    expect((calls.check as () => boolean)()).toBe(false)
    expect((calls.device as () => boolean)()).toBe(false)
    expect((calls.filter as { urls: string[] }).urls).toEqual(BLOCKED_REQUEST_URLS)
    let answer: unknown = null
    ;(calls.before as (d: unknown, cb: (r: unknown) => void) => void)({ url: 'https://evil.example/x.js' }, (r) => (answer = r))
    expect(answer).toEqual({ cancel: true })
  })
})

describe('app:// protocol', () => {
  let dir: { path: string; remove: () => void }
  let handle: (r: Request) => Promise<Response>
  beforeAll(() => {
    dir = tempDir()
    mkdirSync(join(dir.path, 'renderer', 'assets'), { recursive: true })
    writeFileSync(join(dir.path, 'renderer', 'index.html'), '<!doctype html><title>app</title>')
    writeFileSync(join(dir.path, 'renderer', 'assets', 'a.js'), 'export {}')
    writeFileSync(join(dir.path, 'secret.txt'), 'SECRET')
    handle = createAppProtocolHandler(join(dir.path, 'renderer'))
  })
  afterAll(() => dir.remove())

  it('serves our files with the CSP, and nothing outside them', async () => {
    const index = await handle(new Request('app://bundle/index.html'))
    expect(index.status).toBe(200)
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(index.headers.get('content-type')).toMatch(/text\/html/)
    expect((await handle(new Request('app://bundle/assets/a.js'))).headers.get('content-type')).toMatch(/javascript/)
    expect(await (await handle(new Request('app://bundle/peers'))).text()).toContain('<title>app</title>')
    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%5c..%5csecret.txt']) {
      const res = await handle(new Request(`app://bundle${path}`))
      expect(await res.text(), path).not.toContain('SECRET')
    }
    expect((await handle(new Request('app://other/index.html'))).status).toBe(404)
    expect((await handle(new Request('app://bundle/missing.js'))).status).toBe(404)
    expect((await handle(new Request('app://bundle/index.html', { method: 'POST', body: 'x' }))).status).toBe(404)
  })
})
