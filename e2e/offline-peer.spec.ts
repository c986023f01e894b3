import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, freePort, startDaemon, startDevnet, tempDir, waitFor } from '../test/helpers/processes.js'
import { fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, signIn, snapshot, test, useScheme } from './fixtures.js'

// Daemon A has an open channel to daemon B; B is killed while A's web UI is open. A's UI
// says B is away, keeps a message for it and holds Pay with the reason; when B comes back
// on the same port with the same identity the message is delivered and Pay works again.
// The tests run in order and share the processes.
test.describe.configure({ mode: 'serial' })

interface ChannelView {
  id: string
  state: string
  paidSats: number
  capacitySats: number
  settlementFeeSats: number
}

interface MessageView {
  seq: number
  direction: 'in' | 'out'
  status: string
  text: string
  peerId: string
}

const FUNDS = 1_000_000
const CAPACITY = 50_000
const FIRST_PAYMENT = 1_000
const GUI_PAYMENT = 2_000
const TEXT = `Kept for you while you were away (${Date.now().toString(36)})`

let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
let bPort = 0
let bArgs: string[] = []
let channelId = ''
const dirs: { path: string; remove: () => void }[] = []

const ok = apiResult

function writeConfig(dir: string): void {
  // Quick chain and wallet polls: the test waits on what the UI shows, not on timers.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300 } }))
}

const peerRow = (page: Page) => page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`)

async function openView(page: Page, view: 'peers' | 'channels'): Promise<void> {
  await page.getByTestId(`nav-${view}`).click()
  await expect(page.getByTestId(`view-${view}`)).toBeVisible()
}

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const aDir = tempDir('bsv-p2p-e2e-offline-a-')
  const bDir = tempDir('bsv-p2p-e2e-offline-b-')
  dirs.push(aDir, bDir)
  devnet = await startDevnet()
  bPort = await freePort()
  writeConfig(aDir.path)
  writeConfig(bDir.path)
  const args = ['--chain-url', devnet.url]
  // B on a fixed P2P port, so it comes back where A knows it (same data dir: same identity).
  bArgs = [...args, '--p2p-port', String(bPort)]
  ;[a, b] = await Promise.all([startDaemon(aDir.path, args), startDaemon(bDir.path, bArgs)])

  await fundWalletMined(devnet, a, FUNDS)

  const direct = ((await b.health()).multiaddrs as string[]).find((m) => m.startsWith(`/ip4/127.0.0.1/tcp/${bPort}/p2p/`))
  expect(direct, 'B listens on its fixed port').toBeTruthy()
  await ok(a, 'connectPeer', { multiaddr: direct })

  const opened = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })
  channelId = opened.id
  await waitFor('channel open on both sides', async () => (await ok<ChannelView>(a, 'getChannel', { channelId })).state === 'open' && (await ok<ChannelView>(b, 'getChannel', { channelId })).state === 'open', 30_000, 200)
  await ok(a, 'pay', { channelId, sats: FIRST_PAYMENT, memo: 'before B went away' })
  expect((await ok<ChannelView>(b, 'getChannel', { channelId })).paidSats).toBe(FIRST_PAYMENT)
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

test('while the peer is away the GUI says so, keeps the message, and Pay is held with a reason', async ({ page }) => {
  expect(channelId).not.toBe('')
  await signIn(page, a.apiUrl, a.token)
  await openView(page, 'peers')
  await expect(peerRow(page)).toHaveAttribute('data-reachability', 'connected')

  await b.kill('SIGKILL')

  // A sees the connection close at once and, B being the payee of an open channel, tries it
  // again at once: the failed dial marks it unreachable before the user does anything.
  await expect(peerRow(page)).toHaveAttribute('data-reachability', 'unreachable', { timeout: 20_000 })

  // The message is kept, not refused: the send answers `pending` at once.
  await peerRow(page).getByRole('button', { name: 'Message' }).click()
  const dialog = page.getByTestId('thread-view')
  await expect(dialog).toBeVisible()
  await dialog.getByTestId('message-text').fill(TEXT)
  const sentAt = Date.now()
  await dialog.getByTestId('message-send').click()
  await expect(dialog.getByTestId('message-send-status')).toHaveAttribute('data-status', 'pending', { timeout: 5_000 })
  expect(Date.now() - sentAt, 'a send to a peer that is away answers at once').toBeLessThan(5_000)
  await expect(dialog.getByTestId('message-send-status')).not.toHaveAttribute('role', 'alert')
  await expect(dialog.getByTestId('message-send-status')).toHaveText(/Kept: it will be delivered when the peer is reachable/)
  const mine = dialog.getByTestId('message').filter({ hasText: TEXT })
  await expect(mine).toHaveCount(1)
  await expect(mine).toHaveAttribute('data-direction', 'out')
  await expect(mine).toHaveAttribute('data-status', 'pending')
  await expect(dialog.getByTestId('message-text')).toHaveValue('')
  const [stored] = await ok<MessageView[]>(a, 'listMessages', { peerId: b.peerId, limit: 1 })
  expect(stored).toMatchObject({ direction: 'out', status: 'pending', text: TEXT })

  // The open conversation says so too.
  await expect(dialog.getByTestId('conversation-reachability')).toHaveAttribute('data-reachability', 'unreachable', { timeout: 20_000 })
  await expect(dialog.getByTestId('conversation-reachability')).toHaveText(/^Unreachable/)
  await expect(mine.getByTestId('message-status')).toHaveText(/Waiting for the peer/)
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'offline-peer-message')
  }
  await useScheme(page, 'light')
  // Back to Peers: the conversation (in the Messages view) is left.
  await openView(page, 'peers')
  await expect(dialog).toHaveCount(0)
  await expect(peerRow(page)).toHaveAttribute('data-reachability', 'unreachable')
  await expect(peerRow(page).getByTestId('peer-reachability')).toHaveText(/^Unreachable/)

  // Pay is held, with the reason, and nothing more is paid.
  await openView(page, 'channels')
  const row = page.getByTestId(`channel-${channelId}`)
  await expect(row.getByTestId('channel-state')).toHaveAttribute('data-state', 'open')
  await expect(row.getByTestId('pay-submit')).toBeDisabled()
  await expect(row.getByTestId('pay-unreachable')).toBeVisible()
  await expect(row.getByTestId('pay-unreachable')).toContainText('The payee cannot be reached right now')
  await expect(row.getByTestId('channel-paid')).toHaveAttribute('data-sats', String(FIRST_PAYMENT))
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'offline-peer-channels')
  }
  expect((await ok<ChannelView>(a, 'getChannel', { channelId })).paidSats).toBe(FIRST_PAYMENT)
})

test('when the peer returns the message is delivered and Pay works again', async ({ page }) => {
  expect(channelId).not.toBe('')
  await signIn(page, a.apiUrl, a.token)
  await openView(page, 'peers')
  await expect(peerRow(page)).toHaveAttribute('data-reachability', 'unreachable')
  await peerRow(page).getByRole('button', { name: 'Message' }).click()
  const dialog = page.getByTestId('thread-view')
  const mine = dialog.getByTestId('message').filter({ hasText: TEXT })
  await expect(mine).toHaveAttribute('data-status', 'pending')

  // B back on the same port, with the same data dir (identity, config, channel).
  b = await startDaemon(b.dataDir, bArgs)

  // A finds B by itself (its retries) and delivers; the open conversation follows live.
  await expect(mine).toHaveAttribute('data-status', 'delivered', { timeout: 30_000 })
  await expect(mine.getByTestId('message-status')).toHaveText('Delivered')
  await expect(dialog.getByTestId('conversation-reachability')).toHaveAttribute('data-reachability', 'connected')
  const inbox = await ok<MessageView[]>(b, 'listMessages', { peerId: a.peerId })
  expect(inbox.filter((m) => m.text === TEXT)).toEqual([expect.objectContaining({ direction: 'in', status: 'received', peerId: a.peerId })])
  // Back to Peers: the conversation (in the Messages view) is left.
  await openView(page, 'peers')
  await expect(dialog).toHaveCount(0)
  await expect(peerRow(page)).toHaveAttribute('data-reachability', 'connected')

  // Pay is offered again, and a payment from the page goes through.
  await openView(page, 'channels')
  const row = page.getByTestId(`channel-${channelId}`)
  await expect(row.getByTestId('pay-unreachable')).toHaveCount(0)
  await expect(row.getByTestId('pay-submit')).toBeEnabled()
  await row.getByTestId('pay-sats').fill(String(GUI_PAYMENT))
  await row.getByTestId('pay-memo').fill('after B came back')
  await row.getByTestId('pay-submit').click()
  await expect(row.getByTestId('pay-message')).toHaveText(/^Paid\./, { timeout: 30_000 })
  await expect(row.getByTestId('pay-sats')).toHaveValue('')
  await expect(row.getByTestId('channel-paid')).toHaveAttribute('data-sats', String(FIRST_PAYMENT + GUI_PAYMENT))
  const { settlementFeeSats: fee } = await ok<ChannelView>(a, 'getChannel', { channelId })
  await expect(row.getByTestId('channel-remaining')).toHaveAttribute('data-sats', String(CAPACITY - fee - FIRST_PAYMENT - GUI_PAYMENT))
  expect((await ok<ChannelView>(b, 'getChannel', { channelId })).paidSats).toBe(FIRST_PAYMENT + GUI_PAYMENT)
})
