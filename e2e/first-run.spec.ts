import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { expect } from '@playwright/test'
import { type DaemonProc, ROOT, freePort, startDaemon, startDevnet, tempDir, waitFor } from '../test/helpers/processes.js'
import { signIn, snapshot, test, useScheme } from './fixtures.js'

// What a newcomer does first, done as they do it: the README's manual demo, `npm run demo`
// and a channel paid through its two wallets from the GUI, and a page left open while the
// daemon goes away and comes back.
test.describe.configure({ mode: 'serial' })

/** A shell started in its own process group, so the npm wrappers and everything they start stop together. */
function shell(script: string, cwd = ROOT): { child: ChildProcess; out: () => string; stop: () => Promise<void> } {
  const child = spawn('bash', ['-c', script], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } })
  let out = ''
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)))
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    out: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL')
    },
  }
}

test('the README’s manual demo, as printed (on free ports): the chain mines, the relay is waited for, the UI signs in', async ({ page }) => {
  test.setTimeout(240_000)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /<!-- demo:begin[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- demo:end -->/.exec(readme)?.[1]
  expect(block, 'the README marks its demo block').toBeDefined()
  const dir = tempDir('bsv-p2p-readme-')
  // The README's fixed ports and /tmp folders would collide on a busy machine: the same
  // lines, with free ports and folders of our own put in their place.
  const ports = { 18332: await freePort(), 4001: await freePort(), 4101: await freePort(), 4102: await freePort() }
  let script = block!
  for (const [printed, free] of Object.entries(ports)) script = script.replaceAll(printed, String(free))
  script = script.replaceAll('/tmp/relay', join(dir.path, 'relay')).replaceAll('/tmp/alice', join(dir.path, 'alice'))
  const run = shell(`set -e\n${script}`)
  try {
    const apiUrl = `http://127.0.0.1:${ports[4102]}`
    await waitFor('the daemon of the README', async () => (await fetch(`${apiUrl}/ready`).catch(() => null))?.status === 200, 180_000, 500).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${run.out()}`)
    })
    const devnet = `http://127.0.0.1:${ports[18332]}`
    const height = async (): Promise<number> => ((await (await fetch(`${devnet}/devnet/status`)).json()) as { height: number }).height
    const first = await height()
    await waitFor('the devnet to mine on its own', async () => (await height()) > first, 15_000, 500)
    const health = (await (await fetch(`${apiUrl}/health`)).json()) as { relay: { state: string } }
    expect(health.relay.state).not.toBe('disabled')
    await signIn(page, apiUrl, readFileSync(join(dir.path, 'alice', 'api-token'), 'utf8').trim())
    await expect(page.getByTestId('health-badge')).toHaveAttribute('data-status', /ok|degraded/)
  } finally {
    await run.stop()
    dir.remove()
  }
})

test('npm run demo: alice opens a channel to bob from the GUI, pays through it, bob sees it, and Ctrl-C stops everything', async ({ page, browser }) => {
  test.setTimeout(240_000)
  const run = shell('exec npm run -s demo -- --block-interval-ms 2000')
  try {
    const ready = await new Promise<{ wallets: { name: string; apiUrl: string; token: string; peerId: string }[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm run demo was not ready in time:\n${run.out()}`)), 180_000)
      createInterface({ input: run.child.stdout! }).on('line', (line) => {
        if (!line.startsWith('{"demo":"ready"')) return
        clearTimeout(timer)
        resolve(JSON.parse(line))
      })
      run.child.once('exit', (code) => reject(new Error(`npm run demo exited (${code}):\n${run.out()}`)))
    })
    const [alice, bob] = ready.wallets
    await signIn(page, alice!.apiUrl, alice!.token)
    const bobPage = await browser.newPage()
    try {
      await signIn(bobPage, bob!.apiUrl, bob!.token)
      for (const p of [page, bobPage]) await p.getByTestId('nav-channels').click()
      await page.getByTestId('channel-peer').fill(bob!.peerId)
      await page.getByTestId('channel-capacity').fill('50000')
      await page.getByTestId('open-channel-submit').click()
      await expect(page.getByTestId('open-channel-message')).toHaveText(/is open\./, { timeout: 60_000 })
      const row = page.locator('[data-testid^="channel-"][data-state="open"][data-role="payer"]')
      await row.getByTestId('pay-sats').fill('1234')
      await row.getByTestId('pay-submit').click()
      await expect(row.getByTestId('pay-message')).toHaveText(/^Paid\./)
      await expect(row.getByTestId('channel-paid')).toHaveAttribute('data-sats', '1234')
      const bobRow = bobPage.locator('[data-testid^="channel-"][data-role="payee"]')
      await expect(bobRow.getByTestId('channel-paid')).toHaveAttribute('data-sats', '1234', { timeout: 30_000 })
    } finally {
      await bobPage.close()
    }
    // Ctrl-C: every process of the demo ends, and it says so.
    process.kill(-run.child.pid!, 'SIGINT')
    await waitFor('the demo to stop', () => run.child.exitCode !== null || run.child.signalCode !== null, 30_000, 200)
    expect(run.out()).toContain('stopping…')
  } finally {
    await run.stop()
  }
})

test('a page left open while the daemon stops says so everywhere, holds its actions, and recovers by itself', async ({ page }) => {
  test.setTimeout(180_000)
  const dir = tempDir('bsv-p2p-down-')
  const devnet = await startDevnet()
  const apiPort = await freePort()
  const start = (): Promise<DaemonProc> => startDaemon(dir.path, ['--chain-url', devnet.url, '--api-port', String(apiPort)])
  let daemon = await start()
  try {
    await signIn(page, daemon.apiUrl, daemon.token)
    await expect(page.getByTestId('health-badge')).toHaveAttribute('data-status', /ok|degraded/)
    await page.getByTestId('nav-wallet').click()
    const newAddress = page.getByRole('button', { name: /new address/i })
    await expect(newAddress).toBeEnabled()
    await page.getByTestId('nav-overview').click()

    await daemon.kill('SIGTERM')
    const badge = page.getByTestId('health-badge')
    await expect(badge).toHaveAttribute('data-status', /reconnecting|disconnected/)
    await expect(badge).toHaveText(/Reconnecting|Disconnected/)
    await expect(page.getByTestId('overview-status')).toHaveAttribute('data-status', /reconnecting|disconnected/)
    await expect(page.getByTestId('overview-status')).toContainText(/cannot be reached/)
    await expect(page.getByTestId('connection-banner')).toContainText(/Showing what was known at \d\d:\d\d:\d\d/)
    await page.getByTestId('nav-wallet').click()
    await expect(newAddress).toBeDisabled()
    for (const scheme of ['light', 'dark'] as const) {
      await useScheme(page, scheme)
      await snapshot(page, 'disconnected')
    }

    daemon = await start()
    await expect(badge).toHaveAttribute('data-status', /ok|degraded/, { timeout: 60_000 })
    await expect(page.getByTestId('connection-banner')).toHaveCount(0)
    await expect(newAddress).toBeEnabled()
  } finally {
    await daemon.kill()
    await devnet.kill()
    dir.remove()
  }
})
