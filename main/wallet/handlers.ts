import type { EngineHandlers } from '../idempotency/index.js'
import type { WalletService } from './wallet-service.js'

export function walletHandlers(wallet: WalletService): Pick<EngineHandlers, 'getWallet' | 'newAddress' | 'previewSend' | 'send' | 'listTransactions' | 'backupWallet' | 'restoreWallet'> {
  return {
    getWallet: async () => wallet.info(),
    newAddress: async () => wallet.newAddress(),
    previewSend: async (params) => wallet.previewSend(params),
    send: async ({ address, sats }, scope) => wallet.send({ address, sats }, scope),
    listTransactions: async ({ limit, before }) => wallet.listTransactions({ limit, before }),
    backupWallet: async ({ passphrase }) => wallet.backupWallet({ passphrase }),
    restoreWallet: async ({ mnemonic, passphrase }) => wallet.restoreWallet({ mnemonic, passphrase }),
  }
}
