// Entry of the desktop app's main process. The polyfill must be the first import.
import '../polyfill.js'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BrowserWindow, Menu, Notification, Tray, app, dialog, ipcMain, nativeImage, nativeTheme, protocol, safeStorage, session } from 'electron'
import { configFromEnv, mergeLayers, readConfigFile, validateConfig } from '../config/index.js'
import { Engine, EngineHost } from '../engine/index.js'
import { createLogger } from '../telemetry/index.js'
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
  const appDir = app.getAppPath()
  const dataDir = process.env.BSV_P2P_DATA_DIR || app.getPath('userData')
  const configFile = join(dataDir, 'config.json')
  const overrides = mergeLayers(configFromEnv(process.env), { dataDir })
  // Read again on a restart from Settings, so what was saved there applies.
  const readConfig = () => validateConfig(mergeLayers(existsSync(configFile) ? readConfigFile(configFile) : {}, overrides), 'config', { final: true })
  const config = readConfig()
  const logger = createLogger({ logDir: app.getPath('logs'), level: config.logLevel })
  const log = logger.child('electron')
  // The wallet seed is sealed by the OS keychain; safeStorage is only used once the app is
  // ready, which is when the engine starts.
  const keystore = new SafeStorageKeystore(safeStorage)
  // node_modules' better-sqlite3 is built for Node; the app loads the one built for Electron.
  const nativeBinding = electronNativeBinding({ packaged: app.isPackaged, resourcesPath: process.resourcesPath, appPath: appDir, platform: process.platform, arch: process.arch })
  const engine = new EngineHost({
    config,
    reload: readConfig,
    build: (engineConfig, events) => new Engine({ config: engineConfig, logger, walletKeystore: keystore, configSource: { file: configFile, overrides }, events, nativeBinding }),
    logger: log,
  })

  let window: BrowserWindow | null = null
  let tray: TrayController<Electron.NativeImage, Electron.Menu> | null = null
  let unbindIpc: (() => void) | null = null
  const offs: (() => void)[] = []
  let quitting: Promise<void> | null = null

  process.on('uncaughtException', (err) => log.error('uncaught exception', { err, stack: err.stack }))
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { err: reason }))

  const showWindow = (): void => {
    if (!window || window.isDestroyed()) window = createWindow()
    if (window.isMinimized()) window.restore()
    window.show()
    window.focus()
  }

  const createWindow = (): BrowserWindow => {
    const win = new BrowserWindow({
      width: 1120,
      height: 760,
      minWidth: 720,
      minHeight: 520,
      show: false,
      title: 'BSV P2P Wallet',
      // The page's own background, so opening never flashes the other theme.
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#0f1217' : '#f5f6f8',
      icon: join(appDir, 'assets', 'icon.png'),
      autoHideMenuBar: true,
      webPreferences: {
        ...secureWebPreferences(join(appDir, 'dist', 'preload', 'index.cjs'), !app.isPackaged),
        // The essentials again, literally, so static checkers (Electronegativity) see them here.
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        disableBlinkFeatures: 'Auxclick',
      },
    })
    hardenWebContents(win.webContents, (what, url) => log.warn('blocked', { what, url: url.slice(0, 200) }))
    win.once('ready-to-show', () => win.show())
    win.on('close', (event) => {
      if (quitting) return
      // Closing the window keeps the node running in the tray; Quit stops it.
      event.preventDefault()
      win.hide()
      showTrayNoticeOnce()
    })
    void win.loadURL(APP_ENTRY_URL)
    return win
  }

  const showTrayNoticeOnce = (): void => {
    const marker = join(dataDir, TRAY_NOTICE_FILE)
    if (existsSync(marker) || !Notification.isSupported()) return
    new Notification({ title: 'Still running', body: 'BSV P2P Wallet keeps your node online in the tray. Use Quit in the tray menu to stop it.' }).show()
    try {
      writeFileSync(marker, new Date().toISOString())
    } catch (err) {
      log.warn('cannot remember the tray notice', { err })
    }
  }

  const quit = (): Promise<void> => {
    quitting ??= (async () => {
      log.info('quitting')
      for (const off of offs.splice(0)) off()
      unbindIpc?.()
      tray?.dispose()
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, STOP_DEADLINE_MS).unref())
      await Promise.race([engine.stop().catch((err: unknown) => log.error('engine stop failed', { err })), deadline])
      app.exit(0)
    })()
    return quitting
  }

  app.on('second-instance', () => showWindow())
  app.on('activate', () => showWindow())
  // The tray keeps the app alive with no window; only Quit ends it.
  app.on('window-all-closed', () => {})
  app.on('before-quit', (event) => {
    if (app.isReady()) {
      event.preventDefault()
      void quit()
    }
  })
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents))

  void app.whenReady().then(async () => {
    Menu.setApplicationMenu(null)
    hardenSession(session.defaultSession)
    protocol.handle(APP_SCHEME, createAppProtocolHandler(join(appDir, 'dist', 'renderer')))

    const images = {
      ok: nativeImage.createFromPath(join(appDir, 'assets', 'tray-ok.png')),
      degraded: nativeImage.createFromPath(join(appDir, 'assets', 'tray-degraded.png')),
      offline: nativeImage.createFromPath(join(appDir, 'assets', 'tray-offline.png')),
    }
    tray = new TrayController<Electron.NativeImage, Electron.Menu>({
      createTray: (image) => new Tray(image),
      images,
      buildMenu: (items) => Menu.buildFromTemplate(items),
      onOpen: showWindow,
      onQuit: () => void quit(),
    })

    // What the tray shows, for the Electron e2e (e2e/electron-app.spec.ts) to read in this process.
    if (process.env.BSV_P2P_E2E_HOOKS === '1') Object.assign(globalThis, { bsvP2PTrayState: () => tray?.state ?? null })
    unbindIpc = bindContractIpc({ ipcMain, handlers: engine.handlers, events: engine.events, logger: log }, { origin: APP_ORIGIN, webContents: () => (window && !window.isDestroyed() ? window.webContents : null) })
    offs.push(engine.events.on('health', (health) => tray?.update(health)))
    const limiter = new NoticeLimiter()
    // Notices name a peer as the user named it (Contacts), else as it announces itself.
    const peerName = peerNamer((id) => engine.current.peerName(id))
    const channelNotices = new ChannelNoticeTracker(peerName)
    // Messages: unread count in the tray; a notice only while the window is hidden, floods summarised.
    const messageNotices = new MessageNotices({
      show: (n) => Notification.isSupported() && new Notification(n).show(),
      windowSeen: () => !!window && !window.isDestroyed() && window.isVisible() && window.isFocused(),
      peerName,
    })
    offs.push(
      engine.events.on('unread', (u) => tray?.setUnread(u.total)),
      engine.events.on('message', (m) => messageNotices.observe(m)),
      () => messageNotices.dispose(),
    )
    offs.push(
      engine.events.onAny((event, payload) => {
        if (event === 'message') return
        const notice = noticeFor(event, payload as never, channelNotices, peerName)
        const admitted = notice && limiter.admit(notice, Date.now())
        if (admitted && Notification.isSupported()) new Notification(admitted).show()
      }),
    )

    try {
      await engine.start()
    } catch (err) {
      log.error('engine failed to start', { err })
      dialog.showErrorBox('BSV P2P Wallet could not start', `${(err as Error).message}\n\nThe log is in ${app.getPath('logs')}.`)
      await quit()
      return
    }
    // Channels that existed before this start are not news when they next change.
    engine.handlers
      .listChannels({})
      .then((list) => channelNotices.seed(list))
      .catch((err: unknown) => log.warn('cannot list channels for notices', { err }))
    // The window opens on a running engine, so its first snapshots are complete.
    tray.update(engine.current.health())
    engine.handlers
      .getUnread({})
      .then((u) => tray?.setUnread(u.total))
      .catch((err: unknown) => log.warn('cannot count unread messages for the tray', { err }))
    window = createWindow()
  })
}
