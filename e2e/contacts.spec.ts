import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir, waitFor } from '../test/helpers/processes.js'
import { directAddr, fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, signIn, snapshot, test, useScheme } from './fixtures.js'

// Daemon A names daemon B in its contacts from its web UI: the name wins over the one B
// announces on Peers, Channels and Messages, and survives a reload. The tests run in order
// and share the processes.
test.describe.configure({ mode: 'serial' })

const FUNDS = 500_000
const CAPACITY = 20_000
const ANNOUNCED = 'Bee announces this'
const LOCAL = 'Bob’s shop'

let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []
const ok = apiResult

async function daemon(dir: string): Promise<DaemonProc> {
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300, autoAcceptMaxSats: 100_000 } }))
  return startDaemon(dir, ['--chain-url', devnet.url])
}

const rowOfB = (page: Page) => page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`)

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const aDir = tempDir('bsv-p2p-e2e-ca-')
  const bDir = tempDir('bsv-p2p-e2e-cb-')
  dirs.push(aDir, bDir)
  devnet = await startDevnet()
  ;[a, b] = await Promise.all([daemon(aDir.path), daemon(bDir.path)])
  await fundWalletMined(devnet, a, FUNDS)
  await ok(a, 'connectPeer', { multiaddr: await directAddr(b) })
  // B announces a name of its own; A's directory learns it through gossip.
  await ok(b, 'updateProfile', { name: ANNOUNCED, services: [] })
  await waitFor('A heard B’s name', async () => (await ok<{ peerId: string; name?: string }[]>(a, 'listPeers')).some((p) => p.peerId === b.peerId && p.name === ANNOUNCED), 30_000, 200)
  // Something to show on Channels and Messages.
  await ok(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })
  await ok(a, 'sendMessage', { peerId: b.peerId, text: 'hello from A' })
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('a name given to B shows instead of the announced one on Peers, Channels and Messages, and survives a reload', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-peers').click()
  const row = rowOfB(page)
  await expect(row.getByTestId('peer-name')).toHaveText(ANNOUNCED)
  await expect(row).toHaveAttribute('data-name-source', 'announced')

  // A name that is too long is refused in words before anything is sent.
  await row.getByTestId('contact-edit').click()
  const input = row.getByTestId('contact-name')
  await expect(input).toHaveAttribute('placeholder', `e.g. ${ANNOUNCED}`)
  await input.fill('x'.repeat(70))
  await row.getByTestId('contact-save').click()
  await expect(row.getByTestId('contact-message')).toHaveText(/at most 64 characters; this one has 70/)
  await expect(row.getByTestId('contact-message')).toHaveAttribute('role', 'alert')
  expect(await ok<unknown[]>(a, 'listContacts')).toEqual([])

  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'contacts-peers-naming')
  }
  await input.fill(`  ${LOCAL}  `)
  await row.getByTestId('contact-save').click()
  await expect(row.getByTestId('contact-form')).toHaveCount(0)
  await expect(row.getByTestId('peer-name')).toHaveText(LOCAL)
  await expect(row).toHaveAttribute('data-name-source', 'contact')
  await expect(row).toContainText(`Calls itself “${ANNOUNCED}”`)
  expect(await ok<{ peerId: string; name: string }[]>(a, 'listContacts')).toEqual([expect.objectContaining({ peerId: b.peerId, name: LOCAL })])

  await page.getByTestId('nav-channels').click()
  await expect(page.locator('.channel-title').first()).toContainText(`You pay ${LOCAL}`)

  if ((await page.getByTestId('nav-messages').count()) > 0) {
    await page.getByTestId('nav-messages').click()
    await expect(page.locator(`[data-testid="conversation"] [data-peer-name="${b.peerId}"]`)).toHaveText(LOCAL)
  }

  await page.reload()
  await expect(page.getByTestId('app')).toHaveAttribute('data-ready', 'true')
  await page.getByTestId('nav-peers').click()
  await expect(rowOfB(page).getByTestId('peer-name')).toHaveText(LOCAL)
  await page.getByTestId('nav-channels').click()
  await expect(page.locator('.channel-title').first()).toContainText(`You pay ${LOCAL}`)
})

test('removing the name brings the announced one back, in every open window', async ({ page, browser }) => {
  await signIn(page, a.apiUrl, a.token)
  const other = await browser.newPage()
  try {
    await signIn(other, a.apiUrl, a.token)
    await other.getByTestId('nav-channels').click()
    await expect(other.locator('.channel-title').first()).toContainText(`You pay ${LOCAL}`)

    await page.getByTestId('nav-peers').click()
    const row = rowOfB(page)
    await row.getByTestId('contact-edit').click()
    await expect(row.getByTestId('contact-edit')).toHaveText('Rename')
    await row.getByTestId('contact-remove').click()
    await expect(row.getByTestId('peer-name')).toHaveText(ANNOUNCED)
    // The other window heard the `contacts` event.
    await expect(other.locator('.channel-title').first()).toContainText(`You pay ${ANNOUNCED}`)
    expect(await ok<unknown[]>(a, 'listContacts')).toEqual([])
  } finally {
    await other.close()
  }
})

test('the Overview says how this node is reached and offers its address to copy and scan', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await expect(page.getByTestId('own-reachability')).toHaveText('Reachable from this computer only')
  await expect(page.getByTestId('own-address')).toContainText(`/p2p/${a.peerId}`)
  await expect(page.getByTestId('own-qr')).toBeVisible()
  // The raw addresses wait behind a disclosure.
  const all = page.getByTestId('own-addresses')
  await expect(all.locator('ul.addresses')).toBeHidden()
  await all.locator('summary').click()
  await expect(all.locator('ul.addresses')).toBeVisible()
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'contacts-overview')
  }
})
