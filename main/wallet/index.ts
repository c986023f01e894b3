import type { EngineConfig } from '../config/schema.js'
import { ChainMonitor } from '../chain/chain-monitor.js'
import type { ChainClients } from '../chain/chain.js'
import { createChainClients } from '../chain/networks.js'
import type { EventBus } from '../engine/event-bus.js'
import type { NamedStartable } from '../lifecycle/index.js'
import type { Store } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import type { Keystore } from './keystore.js'
import { WalletService } from './wallet-service.js'

export { walletMigrations } from './migrations.js'
export { walletHandlers } from './handlers.js'
export { type ChannelFundingReservation, WalletService, WalletConfigError, WalletLockedError, type WalletServiceInit, type WalletServiceComponents } from './wallet-service.js'
export { PassphraseKeystore, PlainKeystore, WrongPassphraseError, KeystoreFormatError, frameOsSealed, unframeOsSealed, type Keystore } from './keystore.js'
export { parseAddress, isValidAddress } from './addresses.js'
export { walletFingerprint } from './mnemonic.js'

export { PASSPHRASE_ENV, PassphraseSourceError, loadPassphrase } from './passphrase.js'

export interface WalletPart {
  chain: ChainClients
  monitor: ChainMonitor
  wallet: WalletService
  /** In start order (monitor before wallet); the engine stops them in reverse. */
  parts: NamedStartable[]
}

/**
 * Everything the engine needs for the chain and the wallet, from its config. The secret
 * (passphrase or keystore) comes from the host, never from config.
 */
export function createWalletPart(
  config: EngineConfig,
  components: { store: Store; logger: Logger; metrics: Metrics; events: EventBus },
  secret: { passphrase?: string; keystore?: Keystore; scryptLogN?: number } = {},
): WalletPart {
  const chain = createChainClients({
    network: config.network,
    chainUrl: config.chainUrl,
    http: { timeoutMs: config.chain.timeoutMs, retries: config.chain.retries },
    arcApiKey: config.chain.arcApiKey,
    wocApiKey: config.chain.wocApiKey,
  })
  const monitor = new ChainMonitor({ lookup: chain.lookup, logger: components.logger.child('chain') }, { network: config.network, intervalMs: config.chain.pollIntervalMs })
  const wallet = new WalletService(
    { ...components, logger: components.logger.child('wallet'), chain: { ...chain, monitor } },
    {
      network: config.network,
      feeRateSatsPerKb: config.wallet.feeRateSatsPerKb,
      syncIntervalMs: config.wallet.syncIntervalMs,
      gapLimit: config.wallet.gapLimit,
      ...secret,
    },
  )
  return {
    chain,
    monitor,
    wallet,
    parts: [
      { name: 'chain-monitor', part: monitor },
      { name: 'wallet', part: wallet },
    ],
  }
}
export { walletIdentity } from './identity.js'
