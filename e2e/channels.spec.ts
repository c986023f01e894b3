import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, startDaemon, startDevnet, startRelay, tempDir, waitFor } from '../test/helpers/processes.js'
import { directAddr, fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, mineBlocks, satsText, signIn, snapshot, test, useScheme, walletTotal } from './fixtures.js'

// A funded daemon A pays daemon B through a channel driven from A's web UI, while B's web UI
// (a second browser page) follows along. The tests run in order and share the processes.
test.describe.configure({ mode: 'serial' })

interface ChannelView {
  id: string
  state: string
  paidSats: number
  capacitySats: number
  settlementFeeSats: number
}

const FUNDS = 1_000_000
const CAPACITY = 50_000
const PAYMENTS = [1_000, 2_000, 3_000] as const
const PAID = PAYMENTS.reduce((a, b) => a + b, 0)
const AUTO_ACCEPT = 100_000

let relay: RelayProc
let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
let channelId = ''
const dirs: { path: string; remove: () => void }[] = []

const ok = apiResult

const mine = (blocks = 1): Promise<void> => mineBlocks(devnet.url, blocks)

async function daemon(dir: string, args: string[]): Promise<DaemonProc> {
  // Quick chain and wallet polls: the test waits on what the UI shows, not on timers. Above
  // AUTO_ACCEPT a proposal waits for the payee's answer.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300, autoAcceptMaxSats: AUTO_ACCEPT } }))
  return startDaemon(dir, args)
}

async function openChannels(page: Page, d: DaemonProc): Promise<void> {
  await signIn(page, d.apiUrl, d.token)
  await page.getByTestId('nav-channels').click()
  await expect(page.getByTestId('view-channels')).toBeVisible()
}

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const relayDir = tempDir('bsv-p2p-e2e-relay-')
  const aDir = tempDir('bsv-p2p-e2e-a-')
  const bDir = tempDir('bsv-p2p-e2e-b-')
  dirs.push(relayDir, aDir, bDir)
  relay = await startRelay(relayDir.path, await freePort())
  devnet = await startDevnet()
  const args = ['--relay', relay.multiaddr, '--chain-url', devnet.url]
  ;[a, b] = await Promise.all([daemon(aDir.path, args), daemon(bDir.path, args)])

  await fundWalletMined(devnet, a, FUNDS)
  await ok(a, 'connectPeer', { multiaddr: await directAddr(b) })
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), relay?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('bad channel input gets a clear message and opens nothing', async ({ page }) => {
  await openChannels(page, a)
  await expect(page.getByTestId('channel-count')).toHaveText('None yet')
  const peer = page.getByTestId('channel-peer')
  const capacity = page.getByTestId('channel-capacity')
  const submit = page.getByTestId('open-channel-submit')

  // A malformed peer id.
  await peer.fill('12D3KooW-not-a-peer')
  await capacity.fill(String(CAPACITY))
  await submit.click()
  await expect(page.getByTestId('channel-peer-message')).toHaveText(/That is not a peer ID/)
  await expect(page.getByTestId('channel-peer-message')).toHaveAttribute('role', 'alert')
  await expect(peer).toHaveAttribute('aria-invalid', 'true')
  await peer.fill(`/ip4/127.0.0.1/tcp/4001/p2p/${b.peerId}`)
  await submit.click()
  await expect(page.getByTestId('channel-peer-message')).toHaveText(/Paste only the peer ID/)

  // More than the wallet holds, with B picked from the connected peers.
  await page.locator(`[data-testid="channel-peer-pick"][data-peer-id="${b.peerId}"]`).click()
  await expect(peer).toHaveValue(b.peerId)
  await expect(page.getByTestId('channel-peer-message')).not.toHaveAttribute('role', 'alert')
  await capacity.fill(String(FUNDS * 5))
  await submit.click()
  await expect(page.getByTestId('channel-capacity-message')).toHaveText(/more than your wallet can fund/)
  await expect(page.getByTestId('channel-capacity-message')).toContainText(satsText(FUNDS))
  await expect(capacity).toHaveAttribute('aria-invalid', 'true')

  // Below the smallest channel, and not a whole number.
  await capacity.fill('999')
  await submit.click()
  await expect(page.getByTestId('channel-capacity-message')).toHaveText(/at least 1.000 sats/)
  await capacity.fill('1500.5')
  await submit.click()
  await expect(page.getByTestId('channel-capacity-message')).toHaveText(/whole number/)

  // Nothing was opened, on screen or in the service; the wallet is untouched.
  await expect(page.getByTestId('channel-count')).toHaveText('None yet')
  expect(await ok<ChannelView[]>(a, 'listChannels')).toEqual([])
  expect(await ok<ChannelView[]>(b, 'listChannels')).toEqual([])
  expect(await walletTotal(a)).toBe(FUNDS)
})

test('open a channel from A’s UI, pay three times, and both sides follow live', async ({ page, browser }) => {
  await openChannels(page, a)
  const payee = await browser.newPage()
  try {
    await openChannels(payee, b)
    await expect(payee.getByTestId('channel-count')).toHaveText('None yet')

    await page.locator(`[data-testid="channel-peer-pick"][data-peer-id="${b.peerId}"]`).click()
    await page.getByTestId('channel-capacity').fill(String(CAPACITY))
    await page.getByTestId('open-channel-submit').click()
    await expect(page.getByTestId('open-channel-message')).toHaveText(/is open\./, { timeout: 30_000 })
    // Nothing half-done: the form is empty again.
    await expect(page.getByTestId('channel-capacity')).toHaveValue('')
    const [opened] = await ok<ChannelView[]>(a, 'listChannels')
    channelId = opened!.id
    const rowA = page.getByTestId(`channel-${channelId}`)
    const rowB = payee.getByTestId(`channel-${channelId}`)
    await expect(rowA.getByTestId('channel-state')).toHaveAttribute('data-state', 'open')
    await expect(rowB.getByTestId('channel-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 })
    await expect(rowB).toHaveAttribute('data-role', 'payee')
    const fee = opened!.settlementFeeSats
    await expect(rowA.getByTestId('channel-remaining')).toHaveAttribute('data-sats', String(CAPACITY - fee))

    let paid = 0
    for (const [i, sats] of PAYMENTS.entries()) {
      await rowA.getByTestId('pay-sats').fill(String(sats))
      await rowA.getByTestId('pay-memo').fill(`coffee ${i + 1}`)
      if (i === PAYMENTS.length - 1) {
        // The last payment's answer is lost on its way back, after the daemon paid: the
        // page says it may have gone through, and pressing Pay again (the same key) pays once.
        let lost = false
        await page.route('**/api/pay', async (route) => {
          if (lost) return route.continue()
          lost = true
          await route.fetch()
          await route.abort('connectionreset')
        })
        await rowA.getByTestId('pay-submit').click()
        await expect(rowA.getByTestId('pay-message')).toHaveText(/trying again is safe/)
        await expect(rowA.getByTestId('pay-message')).toHaveAttribute('role', 'alert')
        await expect.poll(async () => (await ok<ChannelView>(b, 'getChannel', { channelId })).paidSats).toBe(paid + sats)
        await page.unroute('**/api/pay')
        expect(lost).toBe(true)
      }
      await rowA.getByTestId('pay-submit').click()
      paid += sats
      await expect(rowA.getByTestId('pay-message')).toHaveText(/^Paid\./)
      await expect(rowA.getByTestId('pay-sats')).toHaveValue('')
      await expect(rowA.getByTestId('channel-paid')).toHaveAttribute('data-sats', String(paid))
      await expect(rowA.getByTestId('channel-remaining')).toHaveAttribute('data-sats', String(CAPACITY - fee - paid))
      await expect(rowB.getByTestId('channel-paid')).toHaveAttribute('data-sats', String(paid))
    }
    await expect(rowB.getByTestId('channel-paid')).toHaveText(satsText(PAID))
    // One polite live region for the whole list says what changed; no row is a live region of its own.
    for (const p of [page, payee]) {
      await expect(p.getByTestId('channel-live')).toHaveCount(1)
      await expect(p.getByTestId('channel-live')).toHaveAttribute('role', 'status')
      await expect(p.locator('.channel-list [role="status"], .channel-list [aria-live]')).toHaveCount(0)
    }
    // (A pattern is matched as the text is, thin spaces in amounts included.)
    const paidText = satsText(PAID).replace(/ /g, '\\s')
    await expect(page.getByTestId('channel-live')).toHaveText(new RegExp(`^You pay .+: open, ${paidText} paid\\.$`))
    await expect(payee.getByTestId('channel-live')).toHaveText(new RegExp(`^.+ pays you: open, ${paidText} received\\.$`))
    // Every payment from the page carried a key: three paid, and the retry answered from the first.
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text()
    expect(metrics).toMatch(/bsv_p2p_idempotent_calls_total\{method="pay"\} 4\b/)

    // More than is left: a clear message, and nothing paid on either side.
    const left = CAPACITY - fee - PAID
    await rowA.getByTestId('pay-sats').fill(String(left + 1))
    await rowA.getByTestId('pay-submit').click()
    await expect(rowA.getByTestId('pay-message')).toHaveText(/more than is left in this channel/)
    await expect(rowA.getByTestId('pay-message')).toHaveAttribute('role', 'alert')
    await rowA.getByTestId('pay-sats').fill('0')
    await rowA.getByTestId('pay-submit').click()
    await expect(rowA.getByTestId('pay-message')).toHaveText(/at least 1 sat/)
    await expect(rowA.getByTestId('channel-paid')).toHaveAttribute('data-sats', String(PAID))
    expect((await ok<ChannelView>(b, 'getChannel', { channelId })).paidSats).toBe(PAID)
    await rowA.getByTestId('pay-sats').fill('')

    // The history, on both sides.
    await rowA.getByTestId('channel-history-toggle').click()
    await expect(rowA.getByTestId('channel-payments').getByRole('listitem')).toHaveCount(3)
    await rowB.getByTestId('channel-history-toggle').click()
    await expect(rowB.getByTestId('channel-payments').getByRole('listitem')).toHaveCount(3)
    await expect(rowB.getByTestId('channel-payments')).toContainText('coffee 3')

    for (const scheme of ['light', 'dark'] as const) {
      for (const p of [page, payee]) {
        await useScheme(p, scheme)
      }
      await snapshot(page, 'channels')
      await snapshot(payee, 'channels-payee')
    }
  } finally {
    await payee.close()
  }
})

test('a proposal above the payee’s limit waits for its answer: rejected, then accepted', async ({ page, browser }) => {
  await openChannels(page, a)
  const payee = await browser.newPage()
  try {
    await openChannels(payee, b)
    const before = await walletTotal(a)
    const propose = async (): Promise<string> => {
      const known = new Set((await ok<ChannelView[]>(a, 'listChannels')).map((c) => c.id))
      await page.getByTestId('channel-peer').fill(b.peerId)
      await page.getByTestId('channel-capacity').fill(String(AUTO_ACCEPT * 2))
      await page.getByTestId('open-channel-submit').click()
      await expect(page.getByTestId('open-channel-message')).toHaveText(/It opens once they accept\./, { timeout: 30_000 })
      const id = (await ok<ChannelView[]>(a, 'listChannels')).find((c) => !known.has(c.id))!.id
      await expect(page.getByTestId(`channel-${id}`).getByTestId('channel-state')).toHaveAttribute('data-state', 'proposed')
      await expect(page.getByTestId(`channel-${id}`).getByTestId('channel-progress')).toHaveText(/Waiting for the peer to accept/)
      const row = payee.getByTestId(`channel-${id}`)
      await expect(row.getByTestId('channel-state')).toHaveAttribute('data-state', 'proposed')
      await expect(row.getByTestId('channel-progress')).toContainText('Accept it to receive payments')
      return id
    }

    const refused = await propose()
    for (const scheme of ['light', 'dark'] as const) {
      await useScheme(payee, scheme)
      await snapshot(payee, 'channels-proposed')
    }
    await useScheme(payee, 'light')
    await payee.getByTestId(`channel-${refused}`).getByTestId('channel-reject').click()
    await expect(payee.getByTestId(`channel-${refused}`).getByTestId('channel-state')).toHaveAttribute('data-state', 'rejected')
    await expect(page.getByTestId(`channel-${refused}`).getByTestId('channel-state')).toHaveAttribute('data-state', 'rejected', { timeout: 15_000 })
    await expect(page.getByTestId(`channel-${refused}`).getByTestId('channel-close')).toHaveCount(0)
    // The line under Open does not outlive the proposal it was about.
    await expect(page.getByTestId('open-channel-message')).toHaveText('')
    expect(await walletTotal(a)).toBe(before)

    const accepted = await propose()
    await payee.getByTestId(`channel-${accepted}`).getByTestId('channel-accept').click()
    await expect(payee.getByTestId(`channel-${accepted}`).getByTestId('channel-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 })
    await expect(page.getByTestId(`channel-${accepted}`).getByTestId('channel-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 })
    await expect(page.getByTestId(`channel-${accepted}`).getByTestId('pay-sats')).toBeVisible()
    // …and follows it: the proposal it announced is open now.
    await expect(page.getByTestId('open-channel-message')).toHaveText(/^Channel to .+ is open\.$/)
    // Using the form again clears it.
    await page.getByTestId('channel-capacity').fill('5000')
    await expect(page.getByTestId('open-channel-message')).toHaveText('')
    await page.getByTestId('channel-capacity').fill('')
    await expect(payee.getByTestId(`channel-${accepted}`).getByTestId('channel-accept')).toHaveCount(0)
  } finally {
    await payee.close()
  }
})

test('close from A’s UI: the settlement shows on both sides and in both wallets', async ({ page, browser }) => {
  expect(channelId).not.toBe('')
  await openChannels(page, a)
  const payee = await browser.newPage()
  try {
    await openChannels(payee, b)
    const rowA = page.getByTestId(`channel-${channelId}`)
    const rowB = payee.getByTestId(`channel-${channelId}`)
    const { settlementFeeSats: fee } = await ok<ChannelView>(a, 'getChannel', { channelId })
    const aBeforeClose = await walletTotal(a)

    // The confirmation can be declined with Escape: nothing happens.
    await rowA.getByTestId('channel-close').click()
    await expect(page.getByTestId('confirm-dialog')).toBeVisible()
    await page.keyboard.press('Escape')
    await expect(page.getByTestId('confirm-dialog')).toHaveCount(0)
    await expect(rowA.getByTestId('channel-state')).toHaveAttribute('data-state', 'open')

    await rowA.getByTestId('channel-close').click()
    await page.getByTestId('confirm-yes').click()
    await expect(rowA.getByTestId('channel-state')).toHaveAttribute('data-state', 'closing', { timeout: 30_000 })
    await expect(rowA.getByTestId('channel-settlement-txid')).toBeVisible()
    await expect(rowA.getByTestId('pay-sats')).toHaveCount(0)
    await expect(rowB.getByTestId('channel-state')).toHaveAttribute('data-state', 'closing')
    await expect(rowB.getByTestId('channel-progress')).toContainText('Settlement sent')
    for (const scheme of ['light', 'dark'] as const) {
      await useScheme(page, scheme)
      await snapshot(page, 'channels-closing')
    }

    await mine()
    await expect(rowA.getByTestId('channel-state')).toHaveAttribute('data-state', 'closed', { timeout: 30_000 })
    await expect(rowB.getByTestId('channel-state')).toHaveAttribute('data-state', 'closed', { timeout: 30_000 })
    await expect(rowA.getByTestId('channel-close')).toHaveCount(0)

    // B received what was paid; A got back the capacity less the payments and the fee.
    const aExpected = aBeforeClose + CAPACITY - PAID - fee
    await waitFor('settlement in both wallets', async () => (await walletTotal(b)) === PAID && (await walletTotal(a)) === aExpected, 30_000, 250)
    for (const [p, sats] of [
      [page, aExpected],
      [payee, PAID],
    ] as const) {
      await p.getByTestId('nav-overview').click()
      await expect(p.getByTestId('overview-balance')).toContainText(satsText(sats), { timeout: 20_000 })
    }
  } finally {
    await payee.close()
  }
})
