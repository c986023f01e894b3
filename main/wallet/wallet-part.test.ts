import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { ChainMonitor, createChainClients } from '../chain/index.js'
import { EngineConfigSchema } from '../config/schema.js'
import { EventBus, startAll, stopAll } from '../kit/index.js'
import { Store } from '../store/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { WalletService, walletHandlers, walletInitFromConfig, walletMigrations } from './index.js'
import { TempDirs, faucet, mine } from './test/helpers.js'

describe('wallet from the engine config', () => {
  const temp = new TempDirs()
  const devnet = new DevnetServer()
  beforeAll(() => devnet.start())
  afterAll(async () => {
    await devnet.stop()
    temp.cleanup()
  })

  it('takes its settings from EngineConfig, starts after the store and the chain monitor, survives stop/start, reports chain health', async () => {
    const config = EngineConfigSchema.parse({ dataDir: temp.make(), network: 'devnet', chainUrl: devnet.url, wallet: { syncIntervalMs: 60_000, gapLimit: 7 }, chain: { pollIntervalMs: 60_000, retries: 0 } })
    expect(walletInitFromConfig(config)).toEqual({ network: 'devnet', feeRateSatsPerKb: 100, syncIntervalMs: 60_000, gapLimit: 7 })
    const store = new Store({ dataDir: config.dataDir, migrations: walletMigrations })
    const events = new EventBus()
    const chain = createChainClients({ network: config.network, chainUrl: config.chainUrl, http: { retries: 0 } })
    const monitor = new ChainMonitor({ lookup: chain.lookup, logger: silentLogger }, { network: config.network, intervalMs: config.chain.pollIntervalMs })
    const wallet = new WalletService({ store, logger: silentLogger, metrics: new Metrics(), events, chain: { ...chain, monitor } }, { ...walletInitFromConfig(config), passphrase: 'pw', scryptLogN: 10 })
    // The engine's order: store, chain monitor, wallet.
    const parts = [
      { name: 'store', part: store },
      { name: 'chain-monitor', part: monitor },
      { name: 'wallet', part: wallet },
    ]
    const handlers = walletHandlers(wallet)
    for (let cycle = 0; cycle < 2; cycle++) {
      await startAll(parts)
      try {
        await monitor.poll()
        expect(wallet.chainHealth()).toEqual({ state: 'ok', height: devnet.height, network: 'devnet' })
        const { address } = await handlers.getWallet({})
        await faucet(devnet.url, address, 1_000)
        await mine(devnet.url)
        await wallet.sync()
        expect((await handlers.getWallet({})).balance.confirmed).toBe(1_000 * (cycle + 1))
      } finally {
        await stopAll(parts)
      }
    }
  })
})
