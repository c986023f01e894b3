import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Page, test as base, expect } from '@playwright/test'
import { formatSats } from '../renderer/src/human.js'

/** A contract call's result over the daemon's API (a refusal throws with its code), and a wallet's total. */
export { ok as apiResult, walletTotal } from '../test/helpers/devnet-daemons.js'

const ARTIFACTS = join(import.meta.dirname, 'artifacts')

/** Sign in to a daemon's web UI and wait for the app's own readiness hook. */
export async function signIn(page: Page, apiUrl: string, token: string): Promise<void> {
  await page.goto(`${apiUrl}/`)
  await page.getByLabel('API token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByTestId('app')).toHaveAttribute('data-ready', 'true')
}

/** Switches the page's system colour scheme and waits until the app has followed it (its theme names the snapshot). */
export async function useScheme(page: Page, scheme: 'light' | 'dark'): Promise<void> {
  await page.emulateMedia({ colorScheme: scheme })
  await expect(page.locator('html')).toHaveAttribute('data-theme', scheme)
}

/** A screenshot of the whole page, kept as a test artifact (e2e/artifacts/<name>-<theme>.png). */
export async function snapshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const theme = await page.evaluate(() => document.documentElement.dataset.theme ?? 'light')
  await page.screenshot({ path: join(ARTIFACTS, `${name}-${theme}.png`), fullPage: true, animations: 'disabled' })
}

/**
 * `page`, watched: any page error, and any console error that is not an expected failed
 * request (a 401 on a wrong token, a refused WebSocket while the daemon restarts), fails
 * the test. A CSP violation shows up here, so the strict policy is proven, not assumed.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const text = msg.text()
      if (/Failed to load resource|WebSocket connection to .* failed/.test(text)) return
      problems.push(`console error: ${text}`)
    })
    await use(page)
    expect(problems, 'errors in the page').toEqual([])
  },
})

export async function mineBlocks(devnetUrl: string, blocks = 1): Promise<void> {
  const res = await fetch(`${devnetUrl}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks }) })
  expect(res.status).toBe(200)
}

/** Playwright compares text with whitespace normalised; formatSats groups with thin spaces. */
export const satsText = (n: number): string => formatSats(n).replace(/\u2009/g, ' ')
