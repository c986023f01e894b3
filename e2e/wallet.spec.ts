import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir, waitFor } from '../test/helpers/processes.js'
import { fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, mineBlocks, satsText, signIn, snapshot, test, useScheme, walletTotal } from './fixtures.js'

// A funded daemon A, encrypted with a passphrase, driven from its web UI; daemon B only
// receives. The tests run in order and share the processes.
test.describe.configure({ mode: 'serial' })

interface WalletView {
  address: string
  balance: { confirmed: number; unconfirmed: number }
}
interface TxView {
  txid: string
  direction: 'in' | 'out'
  sats: number
  fee: number
  height: number | null
}

const FUNDS = 200_000
const SEND = 12_345
const PASSPHRASE = 'e2e wallet passphrase'

let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []

const ok = apiResult
const sats = satsText

const mine = (blocks = 1): Promise<void> => mineBlocks(devnet.url, blocks)

async function daemon(dir: string, env: NodeJS.ProcessEnv = {}): Promise<DaemonProc> {
  // Quick chain and wallet polls: the test waits on what the UI shows, not on timers.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 } }))
  return startDaemon(dir, ['--chain-url', devnet.url], env)
}

async function openWallet(page: Page): Promise<void> {
  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-wallet').click()
  await expect(page.getByTestId('view-wallet')).toBeVisible()
  await expect(page.getByTestId('wallet-balance')).toBeVisible()
}

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const aDir = tempDir('bsv-p2p-e2e-wa-')
  const bDir = tempDir('bsv-p2p-e2e-wb-')
  dirs.push(aDir, bDir)
  devnet = await startDevnet()
  ;[a, b] = await Promise.all([daemon(aDir.path, { BSV_P2P_PASSPHRASE: PASSPHRASE }), daemon(bDir.path)])
  await fundWalletMined(devnet, a, FUNDS)
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('the funded balance shows on the Overview and in the Wallet, with the receive address and its QR code', async ({ page }) => {
  await signIn(page, a.apiUrl, a.token)
  await expect(page.getByTestId('overview-balance')).toContainText(sats(FUNDS))

  await page.getByTestId('nav-wallet').click()
  const balance = page.getByTestId('wallet-balance')
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(FUNDS))
  await expect(balance).toContainText(`${sats(FUNDS)} confirmed`)
  await expect(balance).toContainText('nothing waiting for a block')
  // The funding transaction is in the history, mined.
  const funding = page.getByTestId('wallet-tx')
  await expect(funding).toHaveCount(1)
  await expect(funding).toHaveAttribute('data-direction', 'in')
  await expect(funding.getByTestId('wallet-tx-sats')).toHaveText(`+${sats(FUNDS)}`)
  await expect(funding.getByTestId('wallet-tx-height')).toHaveText(/^block \d+$/)

  const { address } = await ok<WalletView>(a, 'getWallet')
  await expect(page.getByTestId('receive-address')).toHaveText(address)
  const qr = page.getByTestId('receive-qr')
  await expect(qr).toBeVisible()
  await expect(qr).toHaveAttribute('alt', `QR code of your receive address ${address}`)
  await expect(qr).toHaveAttribute('src', /^data:image\/svg\+xml/)
  // The browser decoded it (a CSP refusal or a broken SVG leaves naturalWidth at 0).
  expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)

  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'wallet')
  }
  await useScheme(page, 'light')

  // A new address replaces the shown one and its code, as the service says.
  const oldSrc = await qr.getAttribute('src')
  await page.getByTestId('new-address').click()
  await expect(page.getByTestId('receive-address')).not.toHaveText(address)
  const fresh = (await ok<WalletView>(a, 'getWallet')).address
  expect(fresh).not.toBe(address)
  await expect(page.getByTestId('receive-address')).toHaveText(fresh)
  await expect(qr).not.toHaveAttribute('src', oldSrc!)
})

test('bad send input gets a clear message and sends nothing', async ({ page }) => {
  await openWallet(page)
  const before = await ok<TxView[]>(a, 'listTransactions')
  const address = page.getByTestId('send-address')
  const amount = page.getByTestId('send-sats')
  const submit = page.getByTestId('send-submit')
  const { address: bAddress } = await ok<WalletView>(b, 'getWallet')

  // More than the wallet holds: the message names the balance.
  await address.fill(bAddress)
  await amount.fill(String(FUNDS * 3))
  await submit.click()
  const satsMessage = page.getByTestId('send-sats-message')
  await expect(satsMessage).toHaveText(/more than your wallet holds/)
  await expect(satsMessage).toContainText(sats(FUNDS))
  await expect(satsMessage).toHaveAttribute('role', 'alert')
  await expect(amount).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)

  // Not a whole number, and nothing at all.
  await amount.fill('10.5')
  await submit.click()
  await expect(satsMessage).toHaveText(/whole number/)
  await amount.fill('0')
  await submit.click()
  await expect(satsMessage).toHaveText(/at least 1 sat\b/)

  // A malformed address (a character Base58 never uses, then too short).
  await amount.fill('1000')
  await address.fill(`${bAddress.slice(0, -1)}0`)
  await submit.click()
  const addressMessage = page.getByTestId('send-address-message')
  await expect(addressMessage).toHaveText(/That is not an address: “0” never appears in one/)
  await expect(addressMessage).toHaveAttribute('role', 'alert')
  await expect(address).toHaveAttribute('aria-invalid', 'true')
  await address.fill('mipcBbFg9g')
  await submit.click()
  await expect(addressMessage).toHaveText(/26 to 40 characters/)

  // Well-formed but with a broken checksum: refused as it is typed, and no confirm step.
  await address.fill(`${bAddress.slice(0, -1)}${bAddress.endsWith('z') ? 'y' : 'z'}`)
  await expect(addressMessage).toHaveText(/checksum\) do not match/)
  await expect(addressMessage).toHaveAttribute('role', 'alert')
  await submit.click()
  await expect(addressMessage).toHaveText(/checksum\) do not match/)
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)

  // Cancelling the confirm step sends nothing either.
  await address.fill(bAddress)
  await submit.click()
  await expect(page.getByTestId('confirm-dialog')).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)

  // Nothing left the wallet, on screen or in the service.
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(FUNDS))
  expect(await walletTotal(a)).toBe(FUNDS)
  expect(await ok<TxView[]>(a, 'listTransactions')).toEqual(before)
  expect(await walletTotal(b)).toBe(0)
})

test('send to another wallet from the GUI: txid, cleared form, history entry and the new balance', async ({ page }) => {
  await openWallet(page)
  const { address: bAddress } = await ok<WalletView>(b, 'getWallet')
  await page.getByTestId('send-address').fill(bAddress)
  await page.getByTestId('send-sats').fill(String(SEND))
  await page.getByTestId('send-submit').click()
  const dialog = page.getByTestId('confirm-dialog')
  await expect(dialog).toContainText(sats(SEND))
  await expect(dialog).toContainText(bAddress)
  await page.getByTestId('confirm-yes').click()

  const message = page.getByTestId('send-message')
  await expect(message).toContainText(`Sent ${sats(SEND)}`, { timeout: 30_000 })
  const txid = (await page.getByTestId('send-txid').textContent())!.trim()
  expect(txid).toMatch(/^[0-9a-f]{64}$/)
  await expect(page.getByTestId('send-address')).toHaveValue('')
  await expect(page.getByTestId('send-sats')).toHaveValue('')

  const sent = (await ok<TxView[]>(a, 'listTransactions')).find((t) => t.txid === txid)!
  expect(sent).toMatchObject({ direction: 'out', sats: SEND, height: null })
  expect(sent.fee).toBeGreaterThan(0)
  await expect(message).toContainText(`fee ${sats(sent.fee)}`)
  const left = FUNDS - SEND - sent.fee
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(left))
  expect(await walletTotal(a)).toBe(left)

  const row = page.locator(`[data-testid="wallet-tx"][data-txid="${txid}"]`)
  await expect(row).toHaveAttribute('data-direction', 'out')
  await expect(row.getByTestId('wallet-tx-sats')).toHaveText(`−${sats(SEND)}`)
  await expect(row).toContainText(`fee ${sats(sent.fee)}`)
  await expect(row).toContainText(bAddress)
  await expect(row.getByTestId('wallet-tx-height')).toHaveText('unconfirmed')
  await expect(page.getByTestId('wallet-tx').first()).toHaveAttribute('data-txid', txid)

  // A block later the entry shows its height and the change counts as confirmed.
  await mine()
  await expect(row.getByTestId('wallet-tx-height')).toHaveText(/^block \d+$/, { timeout: 30_000 })
  await expect(page.getByTestId('wallet-confirmed')).toHaveText(`${sats(left)} confirmed`, { timeout: 30_000 })
  await page.getByTestId('nav-overview').click()
  await expect(page.getByTestId('overview-balance')).toContainText(sats(left))
  await waitFor('B received', async () => (await walletTotal(b)) === SEND, 30_000, 200)
})

test('backup: a wrong passphrase shows nothing; the right one shows the words until Hide', async ({ page }) => {
  await openWallet(page)
  const pass = page.getByTestId('backup-passphrase')
  const message = page.getByTestId('backup-message')
  await pass.fill('not the passphrase')
  await page.getByTestId('backup-submit').click()
  await expect(message).toHaveAttribute('role', 'alert')
  await expect(message).toHaveText(/passphrase/i)
  await expect(message).toContainText(/wrong|not right/i)
  await expect(pass).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByTestId('backup-words')).toHaveCount(0)

  await pass.fill(PASSPHRASE)
  await page.getByTestId('backup-submit').click()
  const words = page.getByTestId('backup-words').locator('li')
  await expect(words.first()).toBeVisible()
  const count = await words.count()
  expect([12, 24]).toContain(count)
  // The words shown are the wallet's own, in order.
  const { mnemonic } = await ok<{ mnemonic: string }>(a, 'backupWallet', { passphrase: PASSPHRASE })
  expect((await words.allTextContents()).map((t) => t.replace(/^\d+\.\s*/, '').trim())).toEqual(mnemonic.split(' '))
  await snapshot(page, 'wallet-backup')

  await page.getByTestId('backup-hide').click()
  await expect(page.getByTestId('backup-words')).toHaveCount(0)
  await expect(pass).toHaveValue('')
  expect(await page.content()).not.toContain(mnemonic.split(' ').slice(0, 3).join(''))

  // Shown again, then gone once the view is left.
  await pass.fill(PASSPHRASE)
  await page.getByTestId('backup-submit').click()
  await expect(words).toHaveCount(count)
  await page.getByTestId('nav-overview').click()
  await page.getByTestId('nav-wallet').click()
  await expect(page.getByTestId('wallet-balance')).toBeVisible()
  await expect(page.getByTestId('backup-words')).toHaveCount(0)
})

test('restore: a malformed phrase is refused before asking; a real one replaces the keys after the warning', async ({ page }) => {
  // B takes A's recovery words (what A sent it stays reachable with B's old words only).
  const { mnemonic } = await ok<{ mnemonic: string }>(a, 'backupWallet', { passphrase: PASSPHRASE })
  const aTxids = new Set((await ok<TxView[]>(a, 'listTransactions')).map((t) => t.txid))
  await signIn(page, b.apiUrl, b.token)
  // Restore lives in Settings, behind a warning that must be acknowledged first.
  await page.getByTestId('nav-settings').click()
  await expect(page.getByTestId('restore-warning')).toContainText('Restoring replaces this wallet')
  await expect(page.getByTestId('restore-mnemonic')).toHaveCount(0)
  await expect(page.getByTestId('restore-reveal')).toBeDisabled()
  await page.getByTestId('restore-acknowledge').check()
  await page.getByTestId('restore-reveal').click()
  const phrase = page.getByTestId('restore-mnemonic')
  await phrase.fill('abandon abandon abandon')
  await page.getByTestId('restore-submit').click()
  await expect(page.getByTestId('restore-mnemonic-message')).toHaveText(/12, 15, 18, 21 or 24 words; this one has 3/)
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)

  await phrase.fill(mnemonic)
  await page.getByTestId('restore-submit').click()
  await expect(page.getByTestId('confirm-dialog')).toContainText('replaced')
  await page.getByTestId('confirm-yes').click()
  await expect(page.getByTestId('restore-message')).toContainText('Restored.', { timeout: 60_000 })
  await expect(phrase).toHaveValue('')
  // B now holds what A holds, found on the chain.
  const aTotal = await walletTotal(a)
  await page.getByTestId('nav-wallet').click()
  await expect(page.getByTestId('wallet-total')).toHaveText(sats(aTotal), { timeout: 30_000 })
  const bTxids = (await ok<TxView[]>(b, 'listTransactions')).map((t) => t.txid)
  expect(bTxids.some((t) => aTxids.has(t))).toBe(true)
})
