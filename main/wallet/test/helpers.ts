import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChainMonitor } from '../../chain/chain-monitor.js'
import { createChainClients } from '../../chain/networks.js'
import type { Network } from '../../config/schema.js'
import { EventBus } from '../../kit/index.js'
import { Store } from '../../store/index.js'
import { Metrics, silentLogger } from '../../telemetry/index.js'
import { walletMigrations } from '../migrations.js'
import { WalletService, type WalletServiceInit } from '../wallet-service.js'

export class TempDirs {
  private readonly dirs: string[] = []
  make(prefix = 'wallet-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }
  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

export interface TestWallet {
  wallet: WalletService
  store: Store
  monitor: ChainMonitor
  events: EventBus
  dataDir: string
  stop(): Promise<void>
}

/** A real wallet: SQLite in `dataDir`, chain clients over HTTP to the devnet at `chainUrl`. */
export async function startWallet(chainUrl: string, dataDir: string, init: Partial<WalletServiceInit> = {}): Promise<TestWallet> {
  const network: Network = init.network ?? 'devnet'
  const store = new Store({ dataDir, migrations: walletMigrations })
  await store.start()
  const chain = createChainClients({ network, chainUrl, http: { retries: 0, timeoutMs: 3000 } })
  const monitor = new ChainMonitor({ lookup: chain.lookup, logger: silentLogger }, { network, intervalMs: 60_000 })
  const events = new EventBus()
  // Timers far apart: the tests drive syncs themselves.
  const wallet = new WalletService(
    { store, logger: silentLogger, metrics: new Metrics(), events, chain: { ...chain, monitor } },
    { network, syncIntervalMs: 60_000, scryptLogN: 10, gapLimit: 5, ...init },
  )
  await monitor.start()
  try {
    await wallet.start()
  } catch (err) {
    await monitor.stop()
    await store.stop()
    throw err
  }
  return {
    wallet,
    store,
    monitor,
    events,
    dataDir,
    stop: async () => {
      await wallet.stop()
      await monitor.stop()
      await store.stop()
    },
  }
}

export async function faucet(chainUrl: string, address: string, satoshis: number): Promise<string> {
  const res = await fetch(`${chainUrl}/devnet/faucet`, { method: 'POST', body: JSON.stringify({ address, satoshis }) })
  if (res.status !== 200) throw new Error(`faucet: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { txid: string }).txid
}

export async function mine(chainUrl: string, blocks = 1): Promise<number> {
  const res = await fetch(`${chainUrl}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks }) })
  return ((await res.json()) as { height: number }).height
}
