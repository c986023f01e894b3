import { PrivateKey } from '@bsv/sdk'
import { expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, startDaemon, startDevnet, startRelay, tempDir, waitFor } from '../test/helpers/processes.js'
import { apiResult, mineBlocks, satsText as sats, signIn, snapshot, test, useScheme, walletTotal } from './fixtures.js'

// One relay and two daemons for the whole file; the tests run in order and share them.
test.describe.configure({ mode: 'serial' })

let relay: RelayProc
let devnet: DevnetProc
let relayPort: number
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []

test.beforeAll(async () => {
  test.setTimeout(90_000)
  const relayDir = tempDir('bsv-p2p-e2e-relay-')
  const aDir = tempDir('bsv-p2p-e2e-a-')
  const bDir = tempDir('bsv-p2p-e2e-b-')
  dirs.push(relayDir, aDir, bDir)
  relayPort = await freePort()
  relay = await startRelay(relayDir.path, relayPort)
  devnet = await startDevnet()
  const args = ['--relay', relay.multiaddr, '--network', 'devnet', '--chain-url', devnet.url]
  ;[a, b] = await Promise.all([startDaemon(aDir.path, args), startDaemon(bDir.path, args)])
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), relay?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('the login page refuses a wrong token with a clear message', async ({ page }) => {
  await page.goto(`${a.apiUrl}/`)
  await expect(page.getByRole('heading', { name: 'Sign in to your node' })).toBeVisible()
  await snapshot(page, 'login')
  await useScheme(page, 'dark')
  await snapshot(page, 'login')
  await useScheme(page, 'light')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('login-error')).toHaveText('Enter the API token.')
  await page.getByLabel('API token').fill('x'.repeat(43))
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('login-error')).toContainText('That token was not accepted')
  await expect(page.getByTestId('app')).toHaveCount(0)
})

test('overview shows a healthy node reachable through the relay', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  const badge = page.getByTestId('health-badge')
  await expect(badge).toHaveAttribute('data-relay', 'reserved', { timeout: 30_000 })
  await expect(badge).toHaveAttribute('data-status', 'ok')
  await expect(badge).toHaveText('Healthy')
  await expect(page.getByTestId('relay-card')).toContainText('Reachable through the relay')
  await expect(page.getByTestId('relay-card')).toContainText('Peers behind NAT can reach you.')
  await expect(page.getByTestId('own-peer-id')).toHaveText(a.peerId)
  // The token stays in this tab's session: a reload does not ask again.
  await page.reload()
  await expect(page.getByTestId('app')).toHaveAttribute('data-ready', 'true')
})

test('losing the relay shows degraded within seconds, and its return shows ok', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  const badge = page.getByTestId('health-badge')
  await expect(badge).toHaveAttribute('data-status', 'ok', { timeout: 30_000 })
  await relay.kill('SIGKILL')
  const killedAt = Date.now()
  await expect(badge).toHaveAttribute('data-status', 'degraded', { timeout: 15_000 })
  test.info().annotations.push({ type: 'degraded shown after', description: `${Date.now() - killedAt} ms` })
  await expect(page.getByTestId('relay-card')).toContainText('Relay unreachable')
  await expect(page.getByTestId('relay-card')).toContainText('Direct connections still work')
  await snapshot(page, 'overview-degraded')

  relay = await startRelay(dirs[0]!.path, relayPort)
  const restartedAt = Date.now()
  await expect(badge).toHaveAttribute('data-status', 'ok', { timeout: 30_000 })
  test.info().annotations.push({ type: 'ok shown after restart', description: `${Date.now() - restartedAt} ms` })
  await expect(page.getByTestId('relay-card')).toContainText('Reachable through the relay')
})

test('a malformed peer address gets a clear message and changes nothing', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-peers').click()
  const input = page.getByLabel('Peer address')
  const count = await page.getByTestId('peer-row').count()
  const cases: [string, RegExp][] = [
    ['hello world', /starts with “\/”/],
    ['/ip4/999.0.0.1/tcp/4001/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ', /cannot be read/],
    ['/ip4/127.0.0.1/tcp/4001', /Add the peer’s ID/],
    ['/ip4/127.0.0.1/tcp/4001/p2p/not-a-peer-id', /./],
  ]
  for (const [text, message] of cases) {
    await input.fill(text)
    await page.getByTestId('connect-submit').click()
    await expect(page.getByTestId('connect-message')).toHaveText(message)
    await expect(page.getByTestId('connect-message')).toHaveAttribute('role', 'alert')
    await expect(input).toHaveAttribute('aria-invalid', 'true')
    await expect(input).toHaveValue(text)
  }
  await expect(page.getByTestId('peer-row')).toHaveCount(count)
  // Editing clears the message: nothing stale stays on screen.
  await input.fill('/ip4/')
  await expect(page.getByTestId('connect-message')).not.toHaveAttribute('role', 'alert')
})

test('connecting to daemon B through the relay lists B in Peers', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await expect(page.getByTestId('health-badge')).toHaveAttribute('data-relay', 'reserved', { timeout: 30_000 })
  await expect.poll(async () => (await b.health()).relay.state, { timeout: 30_000 }).toBe('reserved')
  await page.getByTestId('nav-peers').click()
  const circuit = `${relay.multiaddr}/p2p-circuit/p2p/${b.peerId}`
  await page.getByLabel('Peer address').fill(circuit)
  await page.getByTestId('connect-submit').click()
  await expect(page.getByTestId('connect-message')).toContainText('Connected to', { timeout: 30_000 })
  const row = page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`)
  await expect(row).toBeVisible()
  await expect(row).toHaveAttribute('data-connection', /relayed|direct/)
  await expect(page.getByLabel('Peer address')).toHaveValue('')
})

test('B names itself and offers a service from its Settings; A’s Peers shows both', async ({ page, browser }) => {
  const bPage = await browser.newPage()
  try {
    await signIn(bPage, b.apiUrl, b.token)
    await bPage.getByTestId('nav-settings').click()
    await expect(bPage.getByTestId('profile-save')).toBeDisabled()

    // Bad input: a message on each field at fault, and nothing saved or announced.
    await bPage.getByLabel('Name', { exact: true }).fill('x'.repeat(70))
    await bPage.getByTestId('service-add').click()
    await bPage.getByLabel('Price (sats)').fill('12.5')
    await bPage.getByTestId('profile-save').click()
    await expect(bPage.getByTestId('profile-name-message')).toHaveText(/at most 64 characters; this one has 70/)
    await expect(bPage.getByTestId('profile-name-message')).toHaveAttribute('role', 'alert')
    await expect(bPage.getByTestId('service-name-message')).toHaveText(/Give the service a name/)
    await expect(bPage.getByTestId('service-price-message')).toHaveText(/whole number/)
    await expect(bPage.getByTestId('profile-name')).toHaveAttribute('aria-invalid', 'true')
    expect(await apiResult(b, 'getProfile')).toEqual({ name: null, services: [] })

    await bPage.getByLabel('Name', { exact: true }).fill('Bob’s node')
    await bPage.getByLabel('Service', { exact: true }).fill('translation')
    await bPage.getByLabel('Price (sats)').fill('2500')
    await bPage.getByLabel('Description (optional)').fill('English to German, per page')
    await expect(bPage.getByTestId('profile-message')).toHaveText('Not saved yet.')
    await bPage.getByTestId('profile-save').click()
    await expect(bPage.getByTestId('profile-message')).toHaveText(/^Saved\. Peers now see “Bob’s node” with translation \(2.500 sats\)\.$/)
    await expect(bPage.getByTestId('profile-save')).toBeDisabled()
    expect(await apiResult(b, 'getProfile')).toEqual({ name: 'Bob’s node', services: [{ name: 'translation', priceSats: 2500, description: 'English to German, per page' }] })
    for (const scheme of ['light', 'dark'] as const) {
      await useScheme(bPage, scheme)
      await snapshot(bPage, 'settings-profile')
    }
  } finally {
    await bPage.close()
  }

  // A hears B's signed announcement over their connection and shows it without a reload.
  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-peers').click()
  const row = page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`)
  await expect(row.getByTestId('peer-name')).toHaveText('Bob’s node', { timeout: 30_000 })
  await expect(row.getByTestId('peer-service')).toHaveText(/^translation · 2.500 sats$/)
  await expect(row.getByTestId('peer-service')).toHaveAttribute('title', 'English to German, per page')
  await snapshot(page, 'peers-named')
})

test('every view, light and dark', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await expect(page.getByTestId('health-badge')).toHaveAttribute('data-status', 'ok', { timeout: 30_000 })
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    for (const view of ['overview', 'peers', 'wallet', 'channels', 'settings']) {
      await page.getByTestId(`nav-${view}`).click()
      await expect(page.getByTestId(`view-${view}`)).toBeVisible()
      await expect(page.getByTestId('app')).toHaveAttribute('data-ready', 'true')
      await snapshot(page, view)
    }
  }
  // The toggle overrides the system preference and is keyboard-usable.
  await useScheme(page, 'light')
  await page.getByRole('button', { name: 'Use dark theme' }).focus()
  await page.keyboard.press('Enter')
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
})

interface SendPreview {
  sats: number
  feeSats: number
  totalSats: number
  spendableSats: number
}

test('the send form refuses a wrong-network address as typed, shows fee and total before confirming, and Max empties the wallet', async ({ page }) => {
  test.setTimeout(120_000)
  // Two coins for A, so the fee of a two-input send differs from a one-input one.
  const { address: funding } = await apiResult<{ address: string }>(a, 'getWallet')
  for (const satoshis of [60_000, 40_000]) {
    const res = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address: funding, satoshis }) })
    expect(res.status).toBe(200)
  }
  await mineBlocks(devnet.url)
  await waitFor('A funded', async () => (await walletTotal(a)) === 100_000, 30_000, 200)
  const { address: bAddress } = await apiResult<{ address: string }>(b, 'getWallet')

  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-wallet').click()
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(100_000))
  const address = page.getByTestId('send-address')
  const amount = page.getByTestId('send-sats')
  const addressMessage = page.getByTestId('send-address-message')
  const dialog = page.getByTestId('confirm-dialog')

  // A mainnet address on this devnet wallet: refused in words as it is typed, and Send opens no dialog.
  await address.fill(new PrivateKey(4242).toAddress([0x00]))
  await expect(addressMessage).toHaveText(/^That is a mainnet address, but this wallet is on devnet/)
  await expect(addressMessage).toHaveAttribute('role', 'alert')
  await expect(address).toHaveAttribute('aria-invalid', 'true')
  await amount.fill('1000')
  await page.getByTestId('send-submit').click()
  await expect(addressMessage).toHaveText(/^That is a mainnet address/)
  await expect(page.getByTestId('send-fee')).toHaveCount(0)
  await expect(dialog).toHaveCount(0)

  // The right address: accepted as typed; the fee and the total show before any dialog, as the wallet works them out.
  await address.fill(bAddress)
  await expect(addressMessage).toHaveText('A valid devnet address.')
  await expect(address).not.toHaveAttribute('aria-invalid', 'true')
  await amount.fill('70000')
  const preview = await apiResult<SendPreview>(a, 'previewSend', { address: bAddress, sats: 70_000 })
  expect(preview.totalSats).toBe(70_000 + preview.feeSats)
  await expect(page.getByTestId('send-fee')).toHaveText(sats(preview.feeSats))
  await expect(page.getByTestId('send-total')).toHaveText(sats(preview.totalSats))
  await expect(dialog).toHaveCount(0)

  // More than can be paid once the fee is added: said before any dialog, numbers formatted as everywhere.
  await amount.fill('100000')
  const shortfall = page.getByTestId('send-preview')
  await expect(shortfall).toHaveText(/^Not enough coins: 100\s000 sats can be spent, and this needs 100\s\d{3} sats with the fee\.$/)
  await expect(shortfall).toHaveAttribute('role', 'alert')
  await page.getByTestId('send-submit').click()
  await expect(page.getByTestId('send-sats-message')).toHaveText(/^Not enough coins: /)
  await expect(page.getByTestId('send-sats-message')).toHaveAttribute('role', 'alert')
  await expect(dialog).toHaveCount(0)

  // The dialog repeats the fee and the total; the transaction sent pays exactly that fee.
  await amount.fill('70000')
  await page.getByTestId('send-submit').click()
  await expect(dialog.getByTestId('confirm-fee')).toHaveText(sats(preview.feeSats))
  await expect(dialog.getByTestId('confirm-total')).toHaveText(sats(preview.totalSats))
  await page.getByTestId('confirm-yes').click()
  await expect(page.getByTestId('send-message')).toContainText(`Sent ${sats(70_000)} (fee ${sats(preview.feeSats)})`, { timeout: 30_000 })
  const txid = (await page.getByTestId('send-txid').textContent())!.trim()
  const history = await apiResult<{ txid: string; fee: number }[]>(a, 'listTransactions')
  expect(history.find((t) => t.txid === txid)?.fee).toBe(preview.feeSats)
  const left = 100_000 - preview.totalSats
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(left))

  // Max: everything spendable less the fee fills the amount, and sending it empties the wallet.
  await address.fill(bAddress)
  await page.getByTestId('send-max').click()
  const max = await apiResult<SendPreview>(a, 'previewSend', { max: true })
  expect(max.totalSats).toBe(left)
  await expect(amount).toHaveValue(String(max.sats))
  await expect(page.getByTestId('send-fee')).toHaveText(sats(max.feeSats))
  await expect(page.getByTestId('send-total')).toHaveText(sats(left))
  await page.getByTestId('send-submit').click()
  await expect(dialog.getByTestId('confirm-total')).toHaveText(sats(left))
  await page.getByTestId('confirm-yes').click()
  await expect(page.getByTestId('send-message')).toContainText(`Sent ${sats(max.sats)} (fee ${sats(max.feeSats)})`, { timeout: 30_000 })
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(0))
  expect(await walletTotal(a)).toBe(0)

  // Max on an empty wallet says why, in the same words.
  await page.getByTestId('send-max').click()
  await expect(page.getByTestId('send-sats-message')).toHaveText(/^Not enough coins: 0 sats can be spent/)
  await expect(amount).toHaveValue('')
  await snapshot(page, 'wallet-send-empty')
})

test('at 400 px wide no view scrolls sideways; the app icon is the favicon, at /favicon.ico too', async ({ page }) => {
  await page.setViewportSize({ width: 400, height: 800 })
  await signIn(page, a.apiUrl, a.token)
  for (const view of ['overview', 'peers', 'wallet', 'channels', 'settings']) {
    await page.getByTestId(`nav-${view}`).click()
    await expect(page.getByTestId(`view-${view}`)).toBeVisible()
    await expect(page.getByTestId('app')).toHaveAttribute('data-ready', 'true')
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, body: document.body.scrollWidth }))
    expect(widths, `${view} at 400 px`).toEqual({ page: 400, body: 400 })
    await snapshot(page, `${view}-400px`)
  }

  const href = await page.locator('link[rel="icon"]').getAttribute('href')
  expect(href).toBe('./favicon.ico')
  for (const path of ['/favicon.ico', new URL(href!, `${a.apiUrl}/`).pathname]) {
    const res = await page.request.get(`${a.apiUrl}${path}`)
    expect(res.status(), path).toBe(200)
    expect(res.headers()['content-type']).toBe('image/x-icon')
    // An ICO header (reserved 0, type 1) with at least one image.
    const body = await res.body()
    expect([body.readUInt16LE(0), body.readUInt16LE(2), body.readUInt16LE(4) > 0]).toEqual([0, 1, true])
  }
})
