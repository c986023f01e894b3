import { type ReactElement, useEffect, useMemo, useState } from 'react'
import { WALLET_TX_LIST_MAX, type WalletInfo, type WalletTransaction } from '../../../../shared/contract/index.js'
import { balanceSeries } from '../../chart-data.js'
import { humanError } from '../../human.js'
import { historyKey } from '../../store/wallet-slice.js'
import { useApp } from '../app-context.js'
import { TimeChart } from '../charts/TimeChart.js'

const RELOAD_DELAY_MS = 300

/**
 * The balance over time, from the latest WALLET_TX_LIST_MAX transactions walked back from
 * the balance now. Read again once the balance changes and settles for a moment: no poll.
 */
export function BalanceChart({ wallet }: { wallet: WalletInfo }): ReactElement {
  const { connection } = useApp()
  const key = historyKey(wallet)
  const [txs, setTxs] = useState<WalletTransaction[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let current = true
    const timer = setTimeout(() => {
      connection.api.listTransactions({ limit: WALLET_TX_LIST_MAX }).then(
        (page) => {
          if (!current) return
          setTxs(page)
          setError(null)
        },
        (err: unknown) => {
          if (current) setError(humanError(err))
        },
      )
    }, RELOAD_DELAY_MS)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [connection, key])
  const balance = wallet.balance.confirmed + wallet.balance.unconfirmed
  const points = useMemo(() => (txs ? balanceSeries(txs, balance) : []), [txs, balance])
  return (
    <section className="card balance-chart" aria-labelledby="balance-chart-title">
      <h3 id="balance-chart-title" className="section-title">
        Balance over time
      </h3>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : txs === null ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : (
        <TimeChart points={points} what="Balance" testId="balance-chart" empty="Your balance over time appears here once coins come in." />
      )}
    </section>
  )
}
