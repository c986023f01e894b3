import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { runEntry, startDaemon, startDevnet, tempDir, waitFor } from './helpers/processes.js'

const dirs: { remove: () => void }[] = []
afterAll(() => dirs.forEach((d) => d.remove()))

describe('daemon lifecycle', () => {
  it('stops within 5 s on SIGTERM in the middle of API traffic and leaves a database that opens cleanly', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const devnet = await startDevnet()
    const daemon = await startDaemon(dir.path, ['--chain-url', devnet.url])
    // Real work on the database: coins arrive and the wallet syncs them, addresses are made.
    const wallet = (await daemon.call<{ address: string }>('getWallet')).body.result!
    const faucet = await fetch(`${devnet.url}/devnet/faucet`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ address: wallet.address, satoshis: 100_000 }) })
    expect(faucet.status).toBe(200)
    let stop = false
    const load = (async () => {
      let n = 0
      while (!stop && n < 5000) {
        n++
        await daemon.call('newAddress').catch(() => {})
        await daemon.call('getWallet').catch(() => {})
        await daemon.call('listPeers').catch(() => {})
      }
      return n
    })()
    await waitFor('coins synced', async () => {
      const balance = (await daemon.call<{ balance: { confirmed: number; unconfirmed: number } }>('getWallet')).body.result?.balance
      return (balance?.confirmed ?? 0) + (balance?.unconfirmed ?? 0) > 0
    }, 30_000, 200)
    await new Promise((r) => setTimeout(r, 500))
    const sentAt = Date.now()
    daemon.child.kill('SIGTERM')
    const code = await daemon.exited
    const tookMs = Date.now() - sentAt
    stop = true
    expect(await load).toBeGreaterThan(0)
    expect(code).toBe(0)
    expect(tookMs).toBeLessThan(5000)
    const db = new Database(join(dir.path, 'engine.sqlite'))
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBeGreaterThan(0)
    db.close()
    await devnet.kill()
  }, 60_000)

  it('exits 3 when its stop overruns the deadline, having closed the database, which opens cleanly', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const devnet = await startDevnet()
    // A stop (API, libp2p, a backup, the store) never finishes within 1 ms: the deadline always passes.
    const daemon = await startDaemon(dir.path, ['--chain-url', devnet.url, '--stop-deadline-ms', '1'])
    expect((await daemon.call('newAddress')).body.ok).toBe(true)
    expect(await daemon.kill('SIGTERM')).toBe(3)
    expect(daemon.stderrTail()).toMatch(/stop deadline passed/)
    const db = new Database(join(dir.path, 'engine.sqlite'))
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
    await devnet.kill()
  }, 60_000)

  it('refuses an unknown option in one line, and exits 2', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const proc = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path, '--p2p-prot', '4001'])
    expect(await proc.exited).toBe(2)
    expect(proc.stderrTail()).toBe('bsv-p2p daemon: unknown option --p2p-prot (--help lists the options)\n')
  }, 30_000)

  it('refuses a bad flag with a clear error naming it, and exits 2', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const proc = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path, '--p2p-port', 'abc'])
    expect(await proc.exited).toBe(2)
    expect(proc.stderrTail()).toMatch(/--p2p-port: expected a whole number/)
  }, 30_000)

  it('refuses a config file with a misspelt key, naming the key', async () => {
    const dir = tempDir()
    dirs.push(dir)
    writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ p2p: { prot: 4001 } }))
    const proc = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path])
    expect(await proc.exited).toBe(2)
    expect(proc.stderrTail()).toMatch(/invalid p2p\.prot: unknown key/)
  }, 30_000)

  it('refuses a bad environment value, naming the variable', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const proc = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path], { env: { BSV_P2P_LOG_LEVEL: 'loud' } })
    expect(await proc.exited).toBe(2)
    expect(proc.stderrTail()).toMatch(/environment: invalid logLevel/)
  }, 30_000)

  it('refuses mainnet without a passphrase, and a wrong passphrase, with exit 2 (no restart loop)', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const mainnet = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path, '--network', 'mainnet', '--p2p-port', '0', '--api-port', '0', '--no-mdns'])
    expect(await mainnet.exited).toBe(2)
    expect(mainnet.stderrTail()).toMatch(/mainnet wallet must be encrypted/)

    const devnet = await startDevnet()
    const pass = join(dir.path, 'pass')
    writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 })
    const first = await startDaemon(dir.path, ['--chain-url', devnet.url, '--passphrase-file', pass])
    expect(await first.kill('SIGTERM')).toBe(0)
    writeFileSync(pass, 'wrong horse\n', { mode: 0o600 })
    const wrong = runEntry('main/daemon/cli.ts', ['--data-dir', dir.path, '--network', 'devnet', '--chain-url', devnet.url, '--passphrase-file', pass, '--p2p-port', '0', '--api-port', '0', '--no-mdns'])
    expect(await wrong.exited).toBe(2)
    expect(wrong.stderrTail()).toMatch(/wrong passphrase/)
    await devnet.kill()
  }, 90_000)
})
