import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from '@playwright/test'
import { type DaemonProc, type DevnetProc, startDaemon, startDevnet, tempDir } from '../test/helpers/processes.js'
import { directAddr, fundWalletMined } from '../test/helpers/devnet-daemons.js'
import { apiResult, signIn, snapshot, test, useScheme } from './fixtures.js'

// Every view at 360 x 740 (a small phone) fits the width: no horizontal page scroll, with
// long content in it (a 64-character contact name, a long announced name, a channel, a
// message, wallet history). Screenshots of each view, light and dark, land in e2e/artifacts.
test.describe.configure({ mode: 'serial' })

const ROUTES = ['overview', 'peers', 'messages', 'wallet', 'channels', 'settings'] as const

let devnet: DevnetProc
let a: DaemonProc
let b: DaemonProc
const dirs: { path: string; remove: () => void }[] = []
const ok = apiResult

test.beforeAll(async () => {
  test.setTimeout(120_000)
  const aDir = tempDir('bsv-p2p-e2e-la-')
  const bDir = tempDir('bsv-p2p-e2e-lb-')
  dirs.push(aDir, bDir)
  devnet = await startDevnet()
  const config = JSON.stringify({ wallet: { syncIntervalMs: 500 }, chain: { pollIntervalMs: 1000 }, channels: { chainPollMs: 300, autoAcceptMaxSats: 100_000 } })
  writeFileSync(join(aDir.path, 'config.json'), config)
  writeFileSync(join(bDir.path, 'config.json'), config)
  ;[a, b] = await Promise.all([startDaemon(aDir.path, ['--chain-url', devnet.url]), startDaemon(bDir.path, ['--chain-url', devnet.url])])
  await fundWalletMined(devnet, a, 300_000)
  await ok(a, 'connectPeer', { multiaddr: await directAddr(b) })
  await ok(b, 'updateProfile', { name: 'A node with a rather long announced name, 64 characters at most', services: [{ name: 'storage', priceSats: 50, description: 'one gigabyte a month' }] })
  await ok(a, 'setContact', { peerId: b.peerId, name: 'W'.repeat(64) })
  await ok(a, 'openChannel', { peerId: b.peerId, capacitySats: 20_000 })
  await ok(a, 'sendMessage', { peerId: b.peerId, text: `A long word that does not break: ${'x'.repeat(120)}` })
})

test.afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill(), devnet?.kill()])
  for (const d of dirs) d.remove()
})

// A desktop window and a small phone; every view is shot at both, in both themes.
for (const [width, height] of [
  [1280, 800],
  [360, 740],
] as const) {
test(`every view fits ${width} px without horizontal scrolling, light and dark`, async ({ page }) => {
  await page.setViewportSize({ width, height })
  await signIn(page, a.apiUrl, a.token)
  for (const scheme of ['light', 'dark'] as const) {
    await useScheme(page, scheme)
    for (const route of ROUTES) {
      const nav = page.getByTestId(`nav-${route}`)
      if ((await nav.count()) === 0) continue
      await nav.click()
      await expect(page.getByTestId(`view-${route}`)).toBeVisible()
      // Shot once loaded: a picture of "Loading…" shows nothing to look at.
      await expect(page.getByTestId(`view-${route}`).getByText('Loading…')).toHaveCount(0)
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        // What sticks out, to say where the fault is when there is one.
        wide: [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 || el.getBoundingClientRect().left + el.scrollWidth > window.innerWidth + 0.5)
          .slice(-5)
          .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}[${el.getAttribute('data-testid') ?? ''}] right=${Math.round(el.getBoundingClientRect().right)}`),
      }))
      expect(widths.page, `${route}: document scrollWidth; wide: ${widths.wide.join(', ')}`).toBeLessThanOrEqual(width)
      await snapshot(page, `${width}-${route}`)
    }
  }
})
}
