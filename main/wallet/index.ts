import type { EngineConfig } from '../config/index.js'
import type { WalletServiceInit } from './wallet-service.js'

export { walletMigrations } from './migrations.js'
export { walletHandlers } from './handlers.js'
export { WalletService, WalletConfigError, WalletLockedError, type WalletServiceInit } from './wallet-service.js'
export { WrongPassphraseError, frameOsSealed, unframeOsSealed, type Keystore } from './keystore.js'
export { parseAddress } from './addresses.js'
export { walletFingerprint } from './mnemonic.js'

export { PassphraseSourceError, loadPassphrase } from './passphrase.js'

/**
 * The wallet's settings from the engine's config. The secret (passphrase or keystore)
 * comes from the host, never from config, so the engine adds it.
 */
export function walletInitFromConfig(config: EngineConfig): WalletServiceInit {
  return {
    network: config.network,
    feeRateSatsPerKb: config.wallet.feeRateSatsPerKb,
    syncIntervalMs: config.wallet.syncIntervalMs,
    gapLimit: config.wallet.gapLimit,
  }
}
export { walletIdentity } from './identity.js'
