import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Page, expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir } from '../test/helpers/processes.js'
import { apiResult, signIn, snapshot, test, useScheme } from './fixtures.js'

// Two daemons, A and B, connected. A writes to B from its GUI; B's GUI shows the message
// in its inbox, counted unread in the navigation until the conversation is opened; search
// finds it. A message to a peer nobody can reach stays pending, fails at its (short) expiry,
// and can be retried and deleted from the thread. The tests share the processes, in order.
test.describe.configure({ mode: 'serial' })

const WORD = `zebra${Date.now().toString(36)}`
const TEXT = `Hello B, the ${WORD} says hi`

let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const aDir = tempDir('bsv-p2p-e2e-msg-a-')
  const bDir = tempDir('bsv-p2p-e2e-msg-b-')
  dirs.push(aDir, bDir)
  // A short expiry on A: a message nobody can take fails within seconds, so Retry shows.
  writeFileSync(join(aDir.path, 'config.json'), JSON.stringify({ messaging: { pendingExpiryMs: 4_000 } }))
  devnet = await startDevnet()
  const args = ['--chain-url', devnet.url]
  ;[a, b] = await Promise.all([startDaemon(aDir.path, args), startDaemon(bDir.path, args)])
  const direct = ((await b.health()).multiaddrs as string[]).find((m) => m.startsWith('/ip4/127.0.0.1/'))
  expect(direct).toBeTruthy()
  await apiResult(a, 'connectPeer', { multiaddr: direct })
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

const conversation = (page: Page, peerId: string) => page.locator(`[data-conversation="${peerId}"]`)

test('a message from A reaches B within a second, unread until B opens it, and search finds it', async ({ page }) => {
  const pageB = await page.context().newPage()
  await signIn(pageB, b.apiUrl, b.token)
  await pageB.getByTestId('nav-messages').click()
  await expect(pageB.getByTestId('view-messages')).toBeVisible()
  await expect(pageB.getByTestId('nav-unread')).toHaveCount(0)
  // B notes the moment the message shows in its inbox (same machine clock as A's page).
  await pageB.evaluate((text) => {
    const w = window as unknown as { arrivedAt?: number }
    const seen = (): boolean => [...document.querySelectorAll('[data-conversation]')].some((el) => el.textContent?.includes(text))
    new MutationObserver(() => {
      if (w.arrivedAt === undefined && seen()) w.arrivedAt = Date.now()
    }).observe(document.body, { subtree: true, childList: true, characterData: true })
  }, TEXT)

  // A opens the conversation from Peers: the Message button leads to the Messages view.
  await signIn(page, a.apiUrl, a.token)
  await page.getByTestId('nav-peers').click()
  await page.locator(`[data-testid="peer-row"][data-peer-id="${b.peerId}"]`).getByRole('button', { name: 'Message' }).click()
  await expect(page).toHaveURL(new RegExp(`#/messages/${b.peerId}$`))
  const thread = page.locator(`[data-thread="${b.peerId}"]`)
  await expect(thread).toHaveAttribute('data-loaded', 'true')
  await thread.getByTestId('message-text').fill(TEXT)
  const sentAt = await page.evaluate(() => Date.now())
  await thread.getByTestId('message-send').click()

  await expect(conversation(pageB, a.peerId)).toContainText(TEXT, { timeout: 10_000 })
  const arrivedAt = await pageB.evaluate(() => (window as unknown as { arrivedAt?: number }).arrivedAt)
  expect(arrivedAt).toBeDefined()
  const latencyMs = arrivedAt! - sentAt
  test.info().annotations.push({ type: 'latency', description: `A's Send to B's inbox: ${latencyMs} ms` })
  console.log(`message latency, A's GUI Send to B's inbox: ${latencyMs} ms`)
  expect(latencyMs, 'the message shows in B’s inbox within a second').toBeLessThan(1_000)

  // A's thread shows it delivered.
  const mine = thread.getByTestId('message').filter({ hasText: TEXT })
  await expect(mine).toHaveAttribute('data-status', 'delivered')
  await expect(mine).toHaveAttribute('data-direction', 'out')

  // B: unread in the navigation and on the conversation, kept by the engine.
  await expect(pageB.getByTestId('nav-unread')).toHaveAttribute('data-unread', '1')
  await expect(pageB.getByTestId('nav-messages')).toHaveAccessibleName(/^Messages\W+1 unread message$/)
  await expect(conversation(pageB, a.peerId)).toHaveAttribute('data-unread', '1')
  expect(await apiResult(b, 'getUnread')).toEqual({ total: 1, byPeer: { [a.peerId]: 1 } })
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(pageB, scheme)
    await snapshot(pageB, 'messages-inbox-unread')
  }

  // Opening the conversation reads it: the counts clear, here and in the engine.
  await conversation(pageB, a.peerId).getByRole('link').click()
  const threadB = pageB.locator(`[data-thread="${a.peerId}"]`)
  await expect(threadB).toHaveAttribute('data-loaded', 'true')
  const theirs = threadB.locator('[data-message-seq]').filter({ hasText: TEXT })
  await expect(theirs).toHaveAttribute('data-status', 'received')
  await expect(pageB.getByTestId('nav-unread')).toHaveCount(0)
  await expect(conversation(pageB, a.peerId)).toHaveAttribute('data-unread', '0')
  expect(await apiResult(b, 'getUnread')).toEqual({ total: 0, byPeer: {} })
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(pageB, scheme)
    await snapshot(pageB, 'messages-thread')
  }
  await useScheme(pageB, 'light')

  // Search finds it, and the result opens its conversation.
  await pageB.getByTestId('nav-messages').click()
  await expect(pageB.locator('[data-thread]')).toHaveCount(0)
  await pageB.getByTestId('message-search-input').fill(WORD)
  await pageB.getByTestId('message-search-submit').click()
  const result = pageB.getByTestId('search-result').filter({ hasText: TEXT })
  await expect(result).toHaveCount(1)
  await result.getByRole('link').click()
  await expect(pageB).toHaveURL(new RegExp(`#/messages/${a.peerId}$`))
  await expect(pageB.locator(`[data-thread="${a.peerId}"]`)).toHaveAttribute('data-loaded', 'true')
  await pageB.close()
})

test('a message to a peer nobody can reach is pending, fails at its expiry, and Retry and Delete work', async ({ page }) => {
  const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const text = `For nobody (${Date.now().toString(36)})`
  await signIn(page, a.apiUrl, a.token)
  await page.evaluate((hash) => (window.location.hash = hash), `#/messages/${nobody}`)
  const thread = page.locator(`[data-thread="${nobody}"]`)
  await expect(thread).toHaveAttribute('data-loaded', 'true')
  await thread.getByTestId('message-text').fill(text)
  await thread.getByTestId('message-send').click()
  await expect(thread.getByTestId('message-send-status')).toHaveAttribute('data-status', 'pending')
  const row = thread.getByTestId('message').filter({ hasText: text })
  await expect(row).toHaveAttribute('data-status', 'pending')
  await expect(row.getByTestId('message-delete')).toBeVisible()
  await expect(row.getByTestId('message-retry')).toHaveCount(0)
  // The conversation is listed, its last message ours (never unread).
  await expect(conversation(page, nobody)).toHaveAttribute('data-unread', '0')

  // A's expiry (4 s) fails it; the thread follows live and offers Retry.
  await expect(row).toHaveAttribute('data-status', 'failed', { timeout: 20_000 })
  await expect(row.getByTestId('message-status')).toHaveText('Not delivered')
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    await snapshot(page, 'messages-failed')
  }
  await useScheme(page, 'light')
  await row.getByTestId('message-retry').click()
  await expect(row).toHaveAttribute('data-status', 'pending')
  const seq = Number(await row.getAttribute('data-message-seq'))
  expect((await apiResult<{ seq: number; status: string }[]>(a, 'listMessages', { peerId: nobody })).find((m) => m.seq === seq)?.status).toBe('pending')

  await row.getByTestId('message-delete').click()
  await expect(row).toHaveCount(0)
  expect(await apiResult<unknown[]>(a, 'listMessages', { peerId: nobody })).toEqual([])
})
