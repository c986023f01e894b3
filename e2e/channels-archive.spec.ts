import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Page, expect } from '@playwright/test'
import { EXAMPLE_PEER_ID } from '../renderer/src/channel-text.js'
import { type DaemonProc, type DevnetProc, type RelayProc, freePort, startDaemon, startDevnet, startRelay, tempDir } from '../test/helpers/processes.js'
import { directAddr, fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, mineBlocks, satsText, signIn, snapshot, test, useScheme, walletTotal } from './fixtures.js'

// Two daemons (A funded, B its payee), a relay and a devnet. A channel to a peer nobody can
// reach leaves nothing behind; an ended channel is archived from A's UI and its history stays;
// the settlement fee is shown; the balance and payment charts draw.
test.describe.configure({ mode: 'serial' })

interface ChannelView {
  id: string
  state: string
  paidSats: number
  settlementFeeSats: number
  archivedAt: string | null
  fundingTxid: string | null
}

const FUNDS = 500_000
const CAPACITY = 40_000

let relay: RelayProc
let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []
const ok = apiResult

async function daemon(dir: string, args: string[]): Promise<DaemonProc> {
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300, reachTimeoutMs: 1500 } }))
  return startDaemon(dir, args)
}

async function openView(page: Page, d: DaemonProc, view: 'channels' | 'wallet'): Promise<void> {
  await signIn(page, d.apiUrl, d.token)
  await page.getByTestId(`nav-${view}`).click()
  await expect(page.getByTestId(`view-${view}`)).toBeVisible()
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

test('a channel to a peer that cannot be reached leaves nothing behind', async ({ page }) => {
  await openView(page, a, 'channels')
  await expect(page.getByTestId('channel-count')).toHaveText('None yet')
  const peersBefore = (await ok<{ peerId: string }[]>(a, 'listPeers')).map((p) => p.peerId).sort()
  const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const peer = page.getByTestId('channel-peer')
  // The placeholder is no peer id, and the example id is refused before any call.
  await expect(peer).toHaveAttribute('placeholder', /^Peer ID/)
  await peer.fill(EXAMPLE_PEER_ID)
  await page.getByTestId('channel-capacity').fill(String(CAPACITY))
  await page.getByTestId('open-channel-submit').click()
  await expect(page.getByTestId('channel-peer-message')).toHaveText(/example peer ID/)

  await peer.fill(stranger)
  await page.getByTestId('open-channel-submit').click()
  const message = page.getByTestId('open-channel-message')
  await expect(message).toHaveText(/That peer could not be reached/, { timeout: 10_000 })
  await expect(message).toHaveAttribute('role', 'alert')
  await expect(message).not.toContainText(/dial|valid addresses|multiaddr/i)
  await expect(page.getByTestId('channel-count')).toHaveText('None yet')
  await expect(page.locator('li.channel')).toHaveCount(0)

  expect(await ok<ChannelView[]>(a, 'listChannels')).toEqual([])
  // Past the directory's change coalescing: still no entry for the stranger (or the example).
  await page.waitForTimeout(500)
  const peersAfter = (await ok<{ peerId: string }[]>(a, 'listPeers')).map((p) => p.peerId).sort()
  expect(peersAfter).toEqual(peersBefore)
  expect(peersAfter).not.toContain(stranger)
  expect(peersAfter).not.toContain(EXAMPLE_PEER_ID)
  expect(await walletTotal(a)).toBe(FUNDS)
  await page.getByTestId('nav-peers').click()
  await expect(page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`)).toBeVisible()
  await expect(page.locator(`[data-testid="peer-row"][data-peer-id="${stranger}"]`)).toHaveCount(0)
})

test('the fee shows, the charts draw, and an archived channel disappears while its history stays', async ({ page }) => {
  test.setTimeout(90_000)
  const opened = await ok<ChannelView>(a, 'openChannel', { peerId: b.peerId, capacitySats: CAPACITY })
  expect(opened.state).toBe('open')
  for (const sats of [1_000, 2_500]) await ok(a, 'pay', { channelId: opened.id, sats })

  await openView(page, a, 'channels')
  const row = page.getByTestId(`channel-${opened.id}`)
  await expect(row.getByTestId('channel-paid')).toHaveAttribute('data-sats', '3500')
  await expect(row.getByTestId('channel-fee')).toHaveAttribute('data-sats', String(opened.settlementFeeSats))
  await expect(row.getByTestId('channel-remaining')).toHaveAttribute('data-sats', String(CAPACITY - 3_500 - opened.settlementFeeSats))
  await expect(row.getByTestId('channel-sum')).toContainText(`${satsText(CAPACITY)} capacity = ${satsText(3_500)} paid + ${satsText(opened.settlementFeeSats)} settlement fee`)
  // A live channel offers no archive.
  await expect(row.getByTestId('channel-archive')).toHaveCount(0)

  await row.getByTestId('channel-history-toggle').click()
  const paymentsChart = row.getByTestId('channel-payments-chart')
  await expect(paymentsChart).toHaveAttribute('role', 'img')
  await expect(paymentsChart).toHaveAttribute('aria-label', /^Paid from 0 sats to 3.500 sats over /)
  await expect(paymentsChart.locator('canvas')).toHaveCount(1)
  await snapshot(page, 'channels-fee-chart')

  await ok(a, 'closeChannel', { channelId: opened.id })
  await mineBlocks(devnet.url, 1)
  await expect(row.getByTestId('channel-state')).toHaveAttribute('data-state', 'closed', { timeout: 30_000 })
  await row.getByTestId('channel-archive').click()
  await expect(row).toHaveCount(0)
  await expect(page.getByTestId('channel-count')).toHaveText('None yet')
  const toggle = page.getByTestId('channels-show-archived')
  await expect(toggle).toHaveText('Show archived (1)')
  expect(await ok<ChannelView[]>(a, 'listChannels')).toEqual([])
  const archived = await ok<ChannelView[]>(a, 'listChannels', { archived: true })
  expect(archived.map((c) => [c.id, c.state, c.archivedAt !== null])).toEqual([[opened.id, 'closed', true]])
  await toggle.click()
  await expect(row).toHaveAttribute('data-archived', 'true')
  await expect(row.getByTestId('channel-paid')).toHaveAttribute('data-sats', '3500')
  await expect(row.getByTestId('channel-archive')).toHaveCount(0)

  // A reload starts from the snapshots: still hidden, still counted.
  await page.reload()
  await page.getByTestId('nav-channels').click()
  await expect(page.getByTestId('channels-show-archived')).toHaveText('Show archived (1)')
  await expect(page.getByTestId(`channel-${opened.id}`)).toHaveCount(0)

  // The wallet history keeps the funding, naming the peer and the channel; the balance chart draws.
  await page.getByTestId('nav-wallet').click()
  const funding = page.locator(`[data-testid="wallet-tx"][data-txid="${opened.fundingTxid}"]`)
  await expect(funding).toHaveAttribute('data-channel-kind', 'funding')
  await expect(funding.getByTestId('wallet-tx-channel')).toContainText(/^Channel funding to .+ \(channel [0-9a-f]{12}…\)$/)
  await expect(funding).not.toContainText('channel:')
  const balanceChart = page.getByTestId('balance-chart')
  await expect(balanceChart).toHaveAttribute('role', 'img')
  await expect(balanceChart).toHaveAttribute('aria-label', /^Balance from .+ to .+ over /)
  await expect(balanceChart.locator('canvas')).toHaveCount(1)
  await snapshot(page, 'wallet-balance-chart')
  // A theme change redraws the chart in the dark palette: still one chart, not two.
  await useScheme(page, 'dark')
  await expect(balanceChart.locator('canvas')).toHaveCount(1)
  await snapshot(page, 'wallet-balance-chart')
})
