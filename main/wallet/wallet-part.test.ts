import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { EngineConfigSchema } from '../config/schema.js'
import { EventBus } from '../engine/event-bus.js'
import { startAll, stopAll } from '../lifecycle/index.js'
import { Store } from '../store/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { createWalletPart, walletHandlers, walletMigrations } from './index.js'
import { TempDirs, faucet, mine } from './test/helpers.js'

describe('wallet part as the engine wires it', () => {
  const temp = new TempDirs()
  const devnet = new DevnetServer()
  beforeAll(() => devnet.start())
  afterAll(async () => {
    await devnet.stop()
    temp.cleanup()
  })

  it('builds from EngineConfig, starts after the store, survives stop/start, reports chain health', async () => {
    const config = EngineConfigSchema.parse({ dataDir: temp.make(), network: 'devnet', chainUrl: devnet.url, wallet: { syncIntervalMs: 60_000 }, chain: { pollIntervalMs: 60_000, retries: 0 } })
    expect(config.wallet).toEqual({ feeRateSatsPerKb: 100, syncIntervalMs: 60_000, gapLimit: 10 })
    const store = new Store({ dataDir: config.dataDir, migrations: walletMigrations })
    const events = new EventBus()
    const part = createWalletPart(config, { store, logger: silentLogger, metrics: new Metrics(), events }, { passphrase: 'pw', scryptLogN: 10 })
    const parts = [{ name: 'store', part: store }, ...part.parts]
    const handlers = walletHandlers(part.wallet)
    for (let cycle = 0; cycle < 2; cycle++) {
      await startAll(parts)
      try {
        await part.monitor.poll()
        expect(part.wallet.chainHealth()).toEqual({ state: 'ok', height: devnet.height, network: 'devnet' })
        const { address } = await handlers.getWallet({})
        await faucet(devnet.url, address, 1_000)
        await mine(devnet.url)
        await part.wallet.sync()
        expect((await handlers.getWallet({})).balance.confirmed).toBe(1_000 * (cycle + 1))
      } finally {
        await stopAll(parts)
      }
    }
  })
})
