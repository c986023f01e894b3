import type { ReactElement } from 'react'
import type { WalletTransaction } from '../../../../shared/contract/index.js'
import { channelOfTransaction, transactionTitle } from '../../history-text.js'
import { formatSats, relativeTime } from '../../human.js'
import { usePeerName } from '../PeerName.js'
import { useWalletHistory } from './use-history.js'

function Row({ tx }: { tx: WalletTransaction }): ReactElement {
  const incoming = tx.direction === 'in'
  const channel = channelOfTransaction(tx)
  // Always called (hooks keep their order); only a channel's peer is shown.
  const peerName = usePeerName(channel?.peerId ?? '')
  const words = transactionTitle(tx, channel?.peerId ? peerName : null)
  return (
    <li className={`wallet-tx tx-${tx.direction}`} data-testid="wallet-tx" data-txid={tx.txid} data-direction={tx.direction} data-channel-id={channel?.id} data-channel-kind={channel?.kind}>
      <span className={`pill ${incoming ? 'pill-in' : 'pill-out'}`}>{incoming ? 'Received' : 'Sent'}</span>
      <span className="tx-amount" data-testid="wallet-tx-sats">
        {incoming ? '+' : '−'}
        {formatSats(tx.sats)}
      </span>
      <span className="muted">{incoming ? 'no fee' : `fee ${formatSats(tx.fee)}`}</span>
      {words.channelId ? (
        <span className="tx-address tx-channel" data-testid="wallet-tx-channel">
          {words.title}{' '}
          <a href="#/channels" className="mono" title={`Channel ${words.channelId}`}>
            ({words.detail})
          </a>
        </span>
      ) : (
        <span className="mono tx-address" title={tx.address ?? undefined}>
          {words.detail ?? '—'}
        </span>
      )}
      <span className={tx.height === null ? 'tx-height pending' : 'tx-height'} data-testid="wallet-tx-height">
        {tx.height === null ? 'unconfirmed' : `block ${tx.height.toLocaleString('en-US')}`}
      </span>
      <time className="muted" dateTime={tx.createdAt} title={new Date(tx.createdAt).toLocaleString()}>
        {relativeTime(tx.createdAt)}
      </time>
    </li>
  )
}

export function History(): ReactElement {
  const history = useWalletHistory()
  const items = history.items
  return (
    <section className="card wallet-history" aria-labelledby="wallet-history-title">
      <h3 id="wallet-history-title" className="section-title">
        History
      </h3>
      {history.error && (
        <p className="field-error" role="alert">
          {history.error}
        </p>
      )}
      {items === null ? (
        !history.error && (
          <p className="muted" role="status">
            Loading transactions…
          </p>
        )
      ) : items.length === 0 ? (
        <p className="empty">Coins you receive and send appear here.</p>
      ) : (
        <ol className="wallet-txs" aria-label="Transactions" data-testid="wallet-history">
          {items.map((tx) => (
            <Row key={tx.seq} tx={tx} />
          ))}
        </ol>
      )}
      {history.hasMore && (
        <button type="button" className="secondary" disabled={history.loadingMore} onClick={history.loadMore} data-testid="history-more">
          {history.loadingMore ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  )
}
