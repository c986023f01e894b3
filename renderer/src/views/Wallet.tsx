import type { ReactElement } from 'react'
import { useAppState } from './app-context.js'
import { Backup } from './wallet/Backup.js'
import { Balance } from './wallet/Balance.js'
import { BalanceChart } from './wallet/BalanceChart.js'
import { History } from './wallet/History.js'
import { Receive } from './wallet/Receive.js'
import { SendForm } from './wallet/SendForm.js'

export function Wallet(): ReactElement {
  const wallet = useAppState((s) => s.wallet)
  const loadError = useAppState((s) => s.loadErrors.wallet)
  if (!wallet) {
    return (
      <p className={loadError ? 'empty field-error' : 'empty'} role={loadError ? 'alert' : 'status'}>
        {loadError ?? 'Loading the wallet…'}
      </p>
    )
  }
  if (!wallet.ready) {
    return (
      <div className="stack">
        <p className="empty" data-testid="wallet-locked">
          The wallet has no keys open yet. Start the node with its passphrase, or restore it from a recovery phrase in <a href="#/settings">Settings</a>.
        </p>
      </div>
    )
  }
  return (
    <div className="stack">
      <div className="wallet-top">
        <Balance wallet={wallet} />
        <Receive address={wallet.address} />
      </div>
      <SendForm wallet={wallet} />
      <BalanceChart wallet={wallet} />
      <History />
      <div className="wallet-keys">
        <Backup />
      </div>
    </div>
  )
}
