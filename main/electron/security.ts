import type { CustomScheme, Session, WebContents, WebPreferences } from 'electron'

/** The renderer is served from our own files under this origin, never from http(s) or file://. */
export const APP_SCHEME = 'app'
export const APP_HOST = 'bundle'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/** Standard + secure so the page gets a real origin and a secure context; no CORS, no service workers. */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, allowServiceWorkers: false, bypassCSP: false, stream: false },
}

/** The window's web preferences: isolated, sandboxed, no Node anywhere in the page. */
export function secureWebPreferences(preloadPath: string, devTools: boolean): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    // Middle-click must not open anything either.
    disableBlinkFeatures: 'Auxclick',
    devTools,
  }
}

export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST
  } catch {
    return false
  }
}

/**
 * No navigation away from our page (a link or a script cannot turn the window into a
 * browser), no new windows, no <webview>. Links to the outside are not opened either:
 * the app has none, and a page that tries is misbehaving.
 */
export function hardenWebContents(contents: WebContents, onBlocked: (what: string, url: string) => void = () => {}): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) {
      event.preventDefault()
      onBlocked('navigation', url)
    }
  })
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) {
      event.preventDefault()
      onBlocked('redirect', url)
    }
  })
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    onBlocked('webview', '')
  })
  contents.setWindowOpenHandler(({ url }) => {
    onBlocked('window.open', url)
    return { action: 'deny' }
  })
}

/** Requests the page may make: our own files and DevTools; everything remote is cancelled. */
export const BLOCKED_REQUEST_URLS = ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'ftp://*/*', 'file://*']

/** Every permission (camera, notifications from the page, geolocation, HID…) is refused. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler(() => false)
  session.webRequest.onBeforeRequest({ urls: BLOCKED_REQUEST_URLS }, (_details, callback) => callback({ cancel: true }))
}
