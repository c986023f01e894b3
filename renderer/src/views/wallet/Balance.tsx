import type { ReactElement } from 'react'
import type { WalletInfo } from '../../../../shared/contract/index.js'
import { formatSats } from '../../human.js'
import { walletTotal } from '../../store/wallet-slice.js'

export function Balance({ wallet }: { wallet: WalletInfo }): ReactElement {
  const { confirmed, unconfirmed } = wallet.balance
  return (
    <section className="card wallet-balance" aria-labelledby="wallet-balance-title" data-testid="wallet-balance">
      <h3 id="wallet-balance-title" className="stat-title">
        Balance
      </h3>
      <p className="stat-value" data-testid="wallet-total">
        {formatSats(walletTotal(wallet))}
      </p>
      <p className="stat-detail">
        <span data-testid="wallet-confirmed">{formatSats(confirmed)} confirmed</span>
        {' · '}
        <span data-testid="wallet-unconfirmed">{unconfirmed > 0 ? `${formatSats(unconfirmed)} waiting for a block` : 'nothing waiting for a block'}</span>
      </p>
      <p className="field-help">Coins waiting for a block can already be spent; they count as confirmed once a miner includes them.</p>
    </section>
  )
}
