import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import Database from 'better-sqlite3'
import type { TrayState } from '../main/electron/tray-state.js'
import { APP_ENTRY_URL } from '../main/electron/security.js'
import { ROOT, tempDir } from '../test/helpers/processes.js'

// The desktop app itself, through Playwright's Electron support: `electron .` as `npm start`
// runs it (the main bundle, the preload, better-sqlite3 built for Electron's ABI and loaded
// through `nativeBinding`), on a data dir of its own. It needs Electron's binary, which
// `npm install` downloads; where there is none (node_modules/electron installed without its
// download, as on machines without access to GitHub) it is skipped, and everything behind
// it (engine, IPC bridge, renderer) is covered by the other tests.

/** The binary `require('electron')` names, found as it finds it, but without starting a download when it is missing. */
function electronBinary(): string | null {
  const dir = join(ROOT, 'node_modules', 'electron')
  const pathFile = join(dir, 'path.txt')
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8') : null
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  const binary = override ? join(override, name ?? 'electron') : name ? join(dir, 'dist', name) : null
  return binary && existsSync(binary) ? binary : null
}

const ELECTRON = electronBinary()

test.skip(ELECTRON === null, 'no Electron binary (node_modules/electron has no dist/); on a desktop run `node node_modules/electron/install.js` first, see the README')

test.describe.configure({ mode: 'serial' })

test.beforeAll(() => {
  // What `npm start` does before `electron .`; the renderer is built by the global setup.
  for (const script of ['electron-native.mjs', 'build-main.mjs']) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts', script)], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      throw new Error(`scripts/${script} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err })
    }
  }
})

test('the app opens its window on a running engine, shows its health and tray, and Quit stops the engine', async () => {
  test.setTimeout(180_000)
  const data = tempDir('bsv-p2p-electron-')
  const app = await electron.launch({
    executablePath: ELECTRON!,
    // Chromium's sandbox refuses to run as root (containers, CI).
    args: [ROOT, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    cwd: ROOT,
    env: {
      ...process.env,
      BSV_P2P_DATA_DIR: data.path,
      BSV_P2P_NETWORK: 'devnet',
      BSV_P2P_P2P_HOST: '127.0.0.1',
      BSV_P2P_P2P_PORT: '0',
      BSV_P2P_MDNS: 'false',
      BSV_P2P_E2E_HOOKS: '1',
    },
    timeout: 60_000,
  })
  const exited = new Promise<number | null>((resolve) => app.process().once('exit', (code) => resolve(code)))
  try {
    const window = await app.firstWindow()
    expect(window.url()).toBe(APP_ENTRY_URL)
    // The renderer's readiness hook: its first snapshots came over IPC from the engine.
    await expect(window.getByTestId('app')).toHaveAttribute('data-ready', 'true', { timeout: 60_000 })
    await expect(window.getByTestId('health-badge')).toHaveAttribute('data-status', /^(ok|degraded)$/)
    await expect(window.getByTestId('own-peer-id')).toHaveText(/12D3KooW\w+/)

    // The tray shows a running node (not the offline picture it starts with).
    await expect.poll(() => app.evaluate(() => (globalThis as { bsvP2PTrayState?: () => TrayState | null }).bsvP2PTrayState?.() ?? null)).toMatchObject({
      icon: expect.stringMatching(/^(ok|degraded)$/),
      tooltip: expect.stringMatching(/^BSV P2P Wallet: (ok|degraded)/),
    })

    // Quit, as the tray's Quit does: the engine stops and the process ends on its own.
    await app.evaluate(({ app: electronApp }) => {
      setTimeout(() => electronApp.quit(), 0)
    })
    expect(await exited).toBe(0)

    // The database was closed: its WAL folded back, and no lock left on it.
    const file = join(data.path, 'engine.sqlite')
    expect(existsSync(file)).toBe(true)
    expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0)
    const db = new Database(file, { timeout: 0 })
    try {
      db.exec('BEGIN EXCLUSIVE; COMMIT')
    } finally {
      db.close()
    }
  } finally {
    if (app.process().exitCode === null && app.process().signalCode === null) await app.close().catch(() => {})
    data.remove()
  }
})
