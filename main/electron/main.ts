// Entry of the desktop app's main process: small named pieces (the engine, the window, the
// tray, the notices, the quit sequence) wired in `run`. The polyfill must be the first import.
import '../polyfill.js'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BrowserWindow, Menu, type NativeImage, Notification, Tray, app, dialog, ipcMain, nativeImage, nativeTheme, protocol, safeStorage, session } from 'electron'
import { Engine, EngineHost } from '../engine/index.js'
import { type Logger, createLogger } from '../telemetry/index.js'
import { type AppConfig, loadAppConfig } from './app-config.js'
import { createAppProtocolHandler } from './app-protocol.js'
import { ChannelNoticeTracker } from './channel-notices.js'
import { bindContractIpc } from './ipc.js'
import { electronNativeBinding } from './native-binding.js'
import { MessageNotices } from './message-notices.js'
import { NoticeLimiter, noticeFor, peerNamer } from './notifications.js'
import { APP_ENTRY_URL, APP_ORIGIN, APP_SCHEME, APP_SCHEME_PRIVILEGES, hardenSession, hardenWebContents, secureWebPreferences } from './security.js'
import { SafeStorageKeystore } from './safe-storage-keystore.js'
import { TrayController } from './tray.js'

const STOP_DEADLINE_MS = 5000
const TRAY_NOTICE_FILE = 'tray-notice-shown'
/** The daemon's exit codes: a configuration a person must fix; a stop that overran its deadline. */
const EXIT_REFUSED = 2
const EXIT_STOP_OVERRAN = 3

/** What the pieces share: made once in `run`, the window and tray filled in as they appear. */
interface AppParts {
  appDir: string
  dataDir: string
  log: Logger
  engine: EngineHost
  window: BrowserWindow | null
  tray: TrayController<NativeImage, Menu> | null
  /** Undo for every binding made once ready (IPC, event listeners). */
  offs: (() => void)[]
  quitting: Promise<void> | null
}

// Everything this process writes (keys, database, logs) is its owner's alone, as bitcoind does.
process.umask(0o077)

// Must happen before 'ready': gives app:// a real, secure origin.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES])

// A data dir of its own (BSV_P2P_DATA_DIR) is an instance of its own: its own single-instance
// lock and Chromium profile, so a second wallet, or the Electron e2e, runs beside the usual one.
if (process.env.BSV_P2P_DATA_DIR) app.setPath('userData', join(process.env.BSV_P2P_DATA_DIR, 'electron'))

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  run()
}

function run(): void {
  let loaded: AppConfig
  try {
    loaded = loadAppConfig(process.env, app.getPath('userData'))
  } catch (err) {
    // A config that does not validate names its layer and key; nothing has started yet.
    dialog.showErrorBox('BSV P2P Wallet could not start', (err as Error).message)
    app.exit(EXIT_REFUSED)
    return
  }
  const logger = createLogger({ logDir: app.getPath('logs'), level: loaded.config.logLevel })
  const log = logger.child('electron')
  const appDir = app.getAppPath()
  const parts: AppParts = { appDir, dataDir: loaded.dataDir, log, engine: createEngine(loaded, logger, log, appDir), window: null, tray: null, offs: [], quitting: null }

  process.on('uncaughtException', (err) => log.error('uncaught exception', { err }))
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { err: reason }))
  wireAppEvents(parts)
  void app.whenReady().then(() => startApp(parts))
}

/** The engine host, with the wallet sealed by the OS keychain and SQLite built for Electron. */
function createEngine(loaded: AppConfig, logger: Logger, log: Logger, appDir: string): EngineHost {
  // safeStorage is only used once the app is ready, which is when the engine starts.
  const keystore = new SafeStorageKeystore(safeStorage)
  // node_modules' better-sqlite3 is built for Node; the app loads the one built for Electron.
  const nativeBinding = electronNativeBinding({ packaged: app.isPackaged, resourcesPath: process.resourcesPath, appPath: appDir, platform: process.platform, arch: process.arch })
  return new EngineHost({
    config: loaded.config,
    reload: loaded.reload,
    build: (engineConfig, events) => new Engine({ config: engineConfig, logger, walletKeystore: keystore, configSource: loaded.source, events, nativeBinding }),
    logger: log,
  })
}

function wireAppEvents(parts: AppParts): void {
  app.on('second-instance', () => showMainWindow(parts))
  app.on('activate', () => showMainWindow(parts))
  // The tray keeps the app alive with no window; only Quit ends it.
  app.on('window-all-closed', () => {})
  app.on('before-quit', (event: Electron.Event) => {
    if (app.isReady()) {
      event.preventDefault()
      void quitSequence(parts)
    }
  })
  app.on('web-contents-created', (_event: Electron.Event, contents: Electron.WebContents) => hardenWebContents(contents))
}

/** Once ready: the app protocol, the tray, IPC, notices, the engine, then the window on a running engine. */
async function startApp(parts: AppParts): Promise<void> {
  Menu.setApplicationMenu(null)
  hardenSession(session.defaultSession)
  protocol.handle(APP_SCHEME, createAppProtocolHandler(join(parts.appDir, 'dist', 'renderer')))
  const tray = wireTray(parts)
  parts.offs.push(bindContractIpc({ ipcMain, handlers: parts.engine.handlers, events: parts.engine.events, logger: parts.log }, { origin: APP_ORIGIN, webContents: () => (parts.window && !parts.window.isDestroyed() ? parts.window.webContents : null) }))
  const channelNotices = wireNotices(parts)

  try {
    await parts.engine.start()
  } catch (err) {
    parts.log.error('engine failed to start', { err })
    dialog.showErrorBox('BSV P2P Wallet could not start', `${(err as Error).message}\n\nThe log is in ${app.getPath('logs')}.`)
    await quitSequence(parts)
    return
  }
  // Channels that existed before this start are not news when they next change.
  parts.engine.handlers
    .listChannels({})
    .then((list) => channelNotices.seed(list))
    .catch((err: unknown) => parts.log.warn('cannot list channels for notices', { err }))
  tray.update(parts.engine.current.health())
  parts.engine.handlers
    .getUnread({})
    .then((u) => parts.tray?.setUnread(u.total))
    .catch((err: unknown) => parts.log.warn('cannot count unread messages for the tray', { err }))
  parts.window = createMainWindow(parts)
}

function showMainWindow(parts: AppParts): void {
  if (!parts.window || parts.window.isDestroyed()) parts.window = createMainWindow(parts)
  const win = parts.window
  if (win.isMinimized()) win.restore()
  win.show()
  win.focus()
}

function createMainWindow(parts: AppParts): BrowserWindow {
  const win = new BrowserWindow({
    width: 1120,
    height: 760,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'BSV P2P Wallet',
    // The page's own background, so opening never flashes the other theme.
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#0f1217' : '#f5f6f8',
    icon: join(parts.appDir, 'assets', 'icon.png'),
    autoHideMenuBar: true,
    webPreferences: {
      ...secureWebPreferences(join(parts.appDir, 'dist', 'preload', 'index.cjs'), !app.isPackaged),
      // The essentials again, literally, so static checkers (Electronegativity) see them here.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      disableBlinkFeatures: 'Auxclick',
    },
  })
  hardenWebContents(win.webContents, (what, url) => parts.log.warn('blocked', { what, url: url.slice(0, 200) }))
  win.once('ready-to-show', () => win.show())
  win.on('close', (event: Electron.Event) => {
    if (parts.quitting) return
    // Closing the window keeps the node running in the tray; Quit stops it.
    event.preventDefault()
    win.hide()
    showTrayNoticeOnce(parts)
  })
  void win.loadURL(APP_ENTRY_URL)
  return win
}

/** Tells once, the first time the window closes, that the node keeps running in the tray. */
function showTrayNoticeOnce(parts: AppParts): void {
  const marker = join(parts.dataDir, TRAY_NOTICE_FILE)
  if (existsSync(marker) || !Notification.isSupported()) return
  new Notification({ title: 'Still running', body: 'BSV P2P Wallet keeps your node online in the tray. Use Quit in the tray menu to stop it.' }).show()
  try {
    writeFileSync(marker, new Date().toISOString())
  } catch (err) {
    parts.log.warn('cannot remember the tray notice', { err })
  }
}

/** The tray: its picture follows health, its menu opens the window or quits. */
function wireTray(parts: AppParts): TrayController<NativeImage, Menu> {
  const image = (name: string): NativeImage => nativeImage.createFromPath(join(parts.appDir, 'assets', `tray-${name}.png`))
  const tray = new TrayController<NativeImage, Menu>({
    createTray: (img) => new Tray(img),
    images: { ok: image('ok'), degraded: image('degraded'), offline: image('offline') },
    buildMenu: (items) => Menu.buildFromTemplate(items),
    onOpen: () => showMainWindow(parts),
    onQuit: () => void quitSequence(parts),
  })
  parts.tray = tray
  // What the tray shows, for the Electron e2e (e2e/electron-app.spec.ts) to read in this process.
  if (process.env.BSV_P2P_E2E_HOOKS === '1') Object.assign(globalThis, { bsvP2PTrayState: () => parts.tray?.state ?? null })
  parts.offs.push(
    parts.engine.events.on('health', (health) => parts.tray?.update(health)),
    parts.engine.events.on('unread', (u) => parts.tray?.setUnread(u.total)),
  )
  return tray
}

/**
 * Desktop notices: a message only while the window is not seen (floods summarised), other
 * events by their rules, rate-limited. Returns the channel tracker, seeded once started.
 */
function wireNotices(parts: AppParts): ChannelNoticeTracker {
  const { engine } = parts
  const limiter = new NoticeLimiter()
  // Notices name a peer as the user named it (Contacts), else as it announces itself.
  const peerName = peerNamer((id) => engine.current.peerName(id))
  const channelNotices = new ChannelNoticeTracker(peerName)
  const messageNotices = new MessageNotices({
    show: (n) => Notification.isSupported() && new Notification(n).show(),
    windowSeen: () => !!parts.window && !parts.window.isDestroyed() && parts.window.isVisible() && parts.window.isFocused(),
    peerName,
  })
  parts.offs.push(
    engine.events.on('message', (m) => messageNotices.observe(m)),
    () => messageNotices.dispose(),
    engine.events.onAny((event, payload) => {
      if (event === 'message') return
      const notice = noticeFor(event, payload as never, channelNotices, peerName)
      // Monotonic: with a wall clock set back, every notice (a failing payment's too) would be held back as long.
      const admitted = notice && limiter.admit(notice, performance.now())
      if (admitted && Notification.isSupported()) new Notification(admitted).show()
    }),
  )
  return channelNotices
}

/** Quit once: unbind everything, give the engine its stop (bounded), then exit with the daemon's codes (1 failed, 3 overran). */
function quitSequence(parts: AppParts): Promise<void> {
  parts.quitting ??= (async () => {
    parts.log.info('quitting')
    for (const off of parts.offs.splice(0)) off()
    parts.tray?.dispose()
    const stopped = parts.engine.stop().then(
      () => 0,
      (err: unknown) => {
        parts.log.error('engine stop failed', { err })
        return 1
      },
    )
    const deadline = new Promise<number>((resolve) => setTimeout(() => resolve(EXIT_STOP_OVERRAN), STOP_DEADLINE_MS).unref())
    const code = await Promise.race([stopped, deadline])
    if (code === EXIT_STOP_OVERRAN) parts.log.error('stop deadline passed; exiting', { deadlineMs: STOP_DEADLINE_MS })
    app.exit(code)
  })()
  return parts.quitting
}
