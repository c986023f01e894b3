import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, startDaemon, startDevnet, startRelay, tempDir } from '../test/helpers/processes.js'
import { signIn, snapshot, test, useScheme } from './fixtures.js'

// One daemon whose relay, log level and limits come from its config file, as a person's
// would; the tests run in order: edit from the GUI, then restart and see what took effect.
test.describe.configure({ mode: 'serial' })

let relay: RelayProc
let devnet: DevnetProc
let daemon: DaemonProc
const dirs: { path: string; remove: () => void }[] = []
let dataDir: string
let configFile: string
let args: string[]

const onDisk = (): Record<string, any> => JSON.parse(readFileSync(configFile, 'utf8'))

test.beforeAll(async () => {
  test.setTimeout(90_000)
  const relayDir = tempDir('bsv-p2p-e2e-relay-')
  const dir = tempDir('bsv-p2p-e2e-settings-')
  dirs.push(relayDir, dir)
  dataDir = dir.path
  configFile = join(dataDir, 'config.json')
  relay = await startRelay(relayDir.path, await freePort())
  devnet = await startDevnet()
  writeFileSync(configFile, JSON.stringify({ logLevel: 'info', p2p: { relays: [relay.multiaddr] }, limits: { maxConnections: 60 } }, null, 2))
  args = ['--network', 'devnet', '--chain-url', devnet.url]
  daemon = await startDaemon(dataDir, args, {}, { logLevel: null })
})

test.afterAll(async () => {
  await Promise.all([daemon?.kill(), relay?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('the log level applies at once; relays and limits are saved, then applied by a restart from the GUI; bad input changes nothing', async ({ page }) => {
  await signIn(page, daemon.apiUrl, daemon.token)
  await expect(page.getByTestId('health-badge')).toHaveAttribute('data-relay', 'reserved', { timeout: 30_000 })
  await page.getByTestId('nav-settings').click()
  const form = page.getByTestId('node-settings-form')
  await expect(form).toContainText(configFile)
  await expect(page.getByTestId('settings-relays')).toHaveValue(relay.multiaddr)
  await expect(page.getByTestId('settings-limit-maxConnections')).toHaveValue('60')
  await expect(page.getByTestId('running-log-level')).toHaveText('info')
  await expect(page.getByTestId('settings-save')).toBeDisabled()

  // The log level, alone: in force at once, nothing waits for a restart.
  await page.getByLabel('Log level').selectOption('debug')
  await page.getByTestId('settings-save').click()
  await expect(page.getByTestId('settings-message')).toHaveText('Saved. The log level is debug.')
  await expect(page.getByTestId('running-log-level')).toHaveText('debug')
  await expect(page.getByTestId('settings-restart')).toHaveCount(0)
  expect(onDisk()).toEqual({ logLevel: 'debug', p2p: { relays: [relay.multiaddr] }, limits: { maxConnections: 60 } })

  // Bad input: a clear message next to the field, and the file untouched.
  const before = readFileSync(configFile, 'utf8')
  await page.getByLabel('Relays').fill(`${relay.multiaddr}\nrelay.example:4001`)
  await page.getByLabel('Connections at most', { exact: true }).fill('0')
  await page.getByTestId('settings-save').click()
  await expect(page.getByTestId('settings-relays-message')).toHaveText(/^Line 2: A peer address starts with “\/”/)
  await expect(page.getByTestId('settings-limit-maxConnections-message')).toHaveText('Connections at most must be at least 1.')
  await expect(page.getByTestId('settings-message')).toHaveText('Some settings need fixing; see above.')
  expect(readFileSync(configFile, 'utf8')).toBe(before)
  await page.getByTestId('settings-undo').click()
  await expect(page.getByTestId('settings-relays')).toHaveValue(relay.multiaddr)
  await expect(page.getByTestId('settings-limit-maxConnections-message')).toHaveText('')

  // No relay and fewer connections: saved, and said to wait for the next start.
  await page.getByLabel('Relays').fill('')
  await page.getByLabel('Connections at most', { exact: true }).fill('40')
  await page.getByTestId('settings-save').click()
  await expect(page.getByTestId('settings-message')).toHaveText('Saved. The log level is debug; the rest applies from the next start.')
  await expect(page.getByTestId('settings-restart')).toHaveText('Saved changes to relays and connections at most take effect when the node next starts.')
  await expect(page.getByTestId('running-limit-maxConnections')).toHaveText('60')
  expect(onDisk()).toEqual({ logLevel: 'debug', p2p: { relays: [] }, limits: { maxConnections: 40 } })
  // The running node keeps its relay until then.
  expect((await daemon.health()).relay.state).toBe('reserved')
  await snapshot(page, 'settings-edit')
  await useScheme(page, 'dark')
  await snapshot(page, 'settings-edit')
  await useScheme(page, 'light')

  // Restart from the GUI: the same page and connection, the node rebuilt with the saved settings.
  await page.getByTestId('settings-restart-now').click()
  await expect(page.getByTestId('confirm-dialog')).toContainText('Restart the node now?')
  await page.getByTestId('confirm-yes').click()
  await expect(page.getByTestId('settings-restart-message')).toHaveText('Restarted: the node runs with the saved settings.', { timeout: 30_000 })
  await expect(page.getByTestId('settings-restart')).toHaveCount(0)
  await expect(page.getByTestId('running-limit-maxConnections')).toHaveText('40')
  await expect(page.getByTestId('health-badge')).toHaveAttribute('data-relay', 'disabled')
  expect((await daemon.health()).relay.state).toBe('disabled')
  // Same process, same identity.
  expect((await daemon.health()).peerId).toBe(daemon.peerId)
  expect(daemon.child.exitCode).toBeNull()
})

test('a new process runs with what was saved, and a flag’s setting cannot be changed here', async ({ page }) => {
  await daemon.kill()
  daemon = await startDaemon(dataDir, args, {}, { logLevel: 'warn' })
  expect((await daemon.health()).relay.state).toBe('disabled')
  await signIn(page, daemon.apiUrl, daemon.token)
  await page.getByTestId('nav-settings').click()
  await expect(page.getByTestId('running-limit-maxConnections')).toHaveText('40')
  await expect(page.getByTestId('settings-restart')).toHaveCount(0)
  await expect(page.getByTestId('settings-relays')).toHaveValue('')
  // --log-level warn beats the file's debug, so the GUI shows it and does not offer to change it.
  await expect(page.getByTestId('running-log-level')).toHaveText('warn')
  await expect(page.getByLabel('Log level')).toBeDisabled()
  await expect(page.getByTestId('node-settings-form')).toContainText('Set on the command line or in the environment; change it there.')
  const refused = await daemon.call('updateSettings', { logLevel: 'debug' })
  expect(refused.body).toMatchObject({ ok: false, error: { code: 'conflict' } })
  expect(onDisk().logLevel).toBe('debug')
})

test('Back up now makes a checked backup in the data folder and says where', async ({ page }) => {
  await signIn(page, daemon.apiUrl, daemon.token)
  await page.getByTestId('nav-settings').click()
  const before = backups()
  await page.getByTestId('backup-now').click()
  await expect(page.getByTestId('backup-result')).toContainText('Backed up', { timeout: 20_000 })
  await expect(page.getByTestId('backup-result')).toContainText(join(dataDir, 'backups'))
  const after = backups()
  expect(after.length).toBeGreaterThan(0)
  expect(after.at(-1)).not.toBe(before.at(-1))
  await expect(page.getByTestId('backup-result')).toContainText(after.at(-1)!)
})

function backups(): string[] {
  const dir = join(dataDir, 'backups')
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.sqlite')).sort() : []
}
