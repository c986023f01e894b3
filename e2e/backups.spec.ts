import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir } from '../test/helpers/processes.js'
import { signIn, snapshot, test, useScheme } from './fixtures.js'

// Settings → Backups as a person uses it: export a backup and the channel file into a
// folder of their choosing, then hand that channel file (and files that are not one)
// back to the wallet. One daemon, no channels: the file it exports holds none.
test.describe.configure({ mode: 'serial' })

let devnet: DevnetProc
let daemon: DaemonProc
const dirs: { path: string; remove: () => void }[] = []
/** Where the first test exports to; the restore tests read its channel file. */
let exportDir: string

test.beforeAll(async () => {
  test.setTimeout(90_000)
  const data = tempDir('bsv-p2p-e2e-backups-')
  const out = tempDir('bsv-p2p-e2e-export-')
  dirs.push(data, out)
  exportDir = out.path
  devnet = await startDevnet()
  daemon = await startDaemon(data.path, ['--chain-url', devnet.url])
})

test.afterAll(async () => {
  await Promise.all([daemon?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

/** Holds the page's calls of `method` until released; from then on they pass straight through. */
async function holdCalls(page: Page, method: string): Promise<{ release: () => void }> {
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  await page.route(`**/api/${method}`, async (route) => {
    await gate
    await route.continue()
  })
  return { release: () => open() }
}

async function openSettings(page: Page): Promise<void> {
  await signIn(page, daemon.apiUrl, daemon.token)
  await page.getByTestId('nav-settings').click()
  await expect(page.getByTestId('export-dir')).toBeVisible()
}

test('Export writes the database backup and the channel file into the folder and says what is where', async ({ page }) => {
  await openSettings(page)
  expect(readdirSync(exportDir)).toEqual([])
  await expect(page.getByTestId('export-dir')).toHaveAttribute('placeholder', 'e.g. /media/usb/wallet-backup')

  await page.getByTestId('export-dir').fill(exportDir)
  // The call is held on its way to the node, so the busy state is seen for certain, not raced.
  const held = await holdCalls(page, 'exportBackup')
  await page.getByTestId('export-backup').click()
  const result = page.getByTestId('export-result')
  await expect(page.getByTestId('export-backup')).toBeDisabled()
  await expect(result).toHaveText(`Exporting… a fresh database backup, then the channel file, into ${exportDir}.`)
  await expect(result).toHaveAttribute('role', 'status')
  held.release()
  await expect(result).toContainText('Keep this folder safe: with your recovery words, channels.bsvchan gets your channel money back even if this computer is lost.', { timeout: 30_000 })
  await expect(result).toHaveAttribute('role', 'status')
  await expect(page.getByTestId('export-backup')).toBeEnabled()

  // Both files are there, whole, and the words name each of them.
  const files = readdirSync(exportDir).sort()
  const database = files.find((f) => f.endsWith('.sqlite'))
  expect(database, `a database backup among ${files.join(', ')}`).toBeDefined()
  expect(files).toContain('channels.bsvchan')
  expect(files.filter((f) => f.endsWith('.tmp') || f.startsWith('.'))).toEqual([])
  for (const f of [database!, 'channels.bsvchan']) expect(statSync(join(exportDir, f)).size).toBeGreaterThan(0)
  // A database file starts with SQLite's header; the channel file with its own.
  expect(readFileSync(join(exportDir, database!)).subarray(0, 15).toString('latin1')).toBe('SQLite format 3')
  expect(readFileSync(join(exportDir, 'channels.bsvchan')).subarray(0, 7).toString('latin1')).toBe('BSVCHAN')
  await expect(result).toContainText(`The database (`)
  await expect(result).toContainText(join(exportDir, database!))
  await expect(result).toContainText(`The channel backup, holding no channels, is in ${join(exportDir, 'channels.bsvchan')}.`)

  await snapshot(page, 'settings-backups')
  await useScheme(page, 'dark')
  await snapshot(page, 'settings-backups')
  await useScheme(page, 'light')
})

test('an export to a relative or missing folder is refused in words, and writes nothing', async ({ page }) => {
  await openSettings(page)
  const result = page.getByTestId('export-result')

  await page.getByTestId('export-dir').fill('wallet-backup')
  await page.getByTestId('export-backup').click()
  await expect(result).toHaveText('Give the folder’s full path, from the top (it starts with /), e.g. /media/usb/wallet-backup.')
  await expect(result).toHaveAttribute('role', 'alert')
  await expect(page.getByTestId('export-dir')).toHaveAttribute('aria-invalid', 'true')

  await page.getByTestId('export-dir').fill('')
  await expect(result).toHaveCount(0)
  await page.getByTestId('export-backup').click()
  await expect(result).toHaveText('Enter the folder to export to, e.g. /media/usb/wallet-backup.')

  // Absolute, so the node is asked, and it has no such folder: named, and nothing is made.
  const missing = join(exportDir, 'not-here')
  await page.getByTestId('export-dir').fill(missing)
  await page.getByTestId('export-backup').click()
  await expect(result).toHaveText(`There is no folder at ${missing} on the computer the node runs on. Make the folder (or plug the disk in) first, then export again.`, { timeout: 30_000 })
  await expect(result).toHaveAttribute('role', 'alert')
  expect(existsSync(missing)).toBe(false)
})

test('restoring the exported channel file into the same wallet says there is nothing to restore', async ({ page }) => {
  await openSettings(page)
  const file = page.getByTestId('restore-channels-file')
  const restore = page.getByTestId('restore-channels')
  const result = page.getByTestId('restore-channels-result')
  await expect(restore).toBeDisabled()

  await file.setInputFiles(join(exportDir, 'channels.bsvchan'))
  await expect(restore).toBeEnabled()

  // Cancel sends nothing.
  await restore.click()
  await expect(page.getByTestId('confirm-dialog')).toContainText('Restore the channels in this file?')
  await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)
  await expect(result).toHaveCount(0)

  await restore.click()
  const dialog = page.getByTestId('confirm-dialog')
  await expect(dialog).toContainText('Restore the channels in this file?')
  await expect(dialog).toContainText('Channels this wallet does not have will be closed out on chain')
  await expect(dialog).toContainText('channels.bsvchan')
  const held = await holdCalls(page, 'restoreChannelBackup')
  await page.getByTestId('confirm-yes').click()
  await expect(result).toHaveText('Restoring… reading the file and handing it to the node.')
  await expect(restore).toBeDisabled()
  await expect(file).toBeDisabled()
  held.release()
  await expect(result).toHaveText(/^Nothing to restore: this file holds no channels\. The file was written (just now|\d+ minutes? ago)\.$/, { timeout: 30_000 })
  await expect(result).toHaveAttribute('role', 'status')
  // Done: the file is cleared, so the same restore is not sent twice by accident.
  await expect(file).toHaveValue('')
  await expect(restore).toBeDisabled()
  // The node agrees: still no channels.
  const listed = await daemon.call<unknown[]>('listChannels', {})
  expect(listed.body).toEqual({ ok: true, result: [] })
})

test('a file that is not this wallet’s channel backup is refused, by the app or the node, in words', async ({ page }) => {
  await openSettings(page)
  const file = page.getByTestId('restore-channels-file')
  const restore = page.getByTestId('restore-channels')
  const result = page.getByTestId('restore-channels-result')
  const send = async (name: string, buffer: Buffer): Promise<void> => {
    await file.setInputFiles({ name, mimeType: 'application/octet-stream', buffer })
    await restore.click()
    await page.getByTestId('confirm-yes').click()
  }

  // Not a channel backup at all.
  await send('garbage.bsvchan', randomBytes(4096))
  await expect(result).toHaveText('This is not a channel backup file. Choose the channels.bsvchan file from your backup folder.', { timeout: 30_000 })
  await expect(result).toHaveAttribute('role', 'alert')

  // The real file with one byte changed: it no longer opens with the wallet's words.
  const damaged = Buffer.from(readFileSync(join(exportDir, 'channels.bsvchan')))
  damaged[damaged.length - 1]! ^= 0x01
  await send('channels.bsvchan', damaged)
  await expect(result).toHaveText('This file does not open with this wallet’s recovery words: it is another wallet’s, or it is damaged.', { timeout: 30_000 })

  // Refused here, before anything is read or sent: an empty file and one too large.
  await file.setInputFiles({ name: 'empty.bsvchan', mimeType: 'application/octet-stream', buffer: Buffer.alloc(0) })
  await expect(result).toHaveText('empty.bsvchan is empty: it is not a channel backup.')
  await expect(restore).toBeDisabled()
  await file.setInputFiles({ name: 'huge.bsvchan', mimeType: 'application/octet-stream', buffer: Buffer.alloc(17 * 1024 * 1024, 1) })
  await expect(result).toHaveText(/^huge\.bsvchan is 17\.0 MiB, more than the 16\.0 MiB the app sends/)
  await expect(result).toHaveAttribute('role', 'alert')
  await expect(restore).toBeDisabled()
})

test('Check now reads the whole database and says it found no damage', async ({ page }) => {
  await openSettings(page)
  const held = await holdCalls(page, 'checkDatabase')
  await page.getByTestId('check-database').click()
  await expect(page.getByTestId('check-database')).toBeDisabled()
  await expect(page.getByTestId('check-database')).toHaveText('Checking…')
  held.release()
  await expect(page.getByTestId('check-database-result')).toHaveText(/^No damage found \(\d+ ms\)\.$/)
  await expect(page.getByTestId('check-database')).toBeEnabled()
})
