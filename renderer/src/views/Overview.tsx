import type { ReactElement, ReactNode } from 'react'
import type { Health } from '../../../shared/contract/index.js'
import { HEALTH_TEXT, RELAY_TEXT, clockTime, duration, formatSats } from '../human.js'
import { liveness } from '../store/app-store.js'
import { walletTotal } from '../store/wallet-slice.js'
import { useAppState } from './app-context.js'
import { ADDRESS_KIND_TEXT, addressKind, bestAddress, ownReachability } from '../own-address.js'
import { CopyButton } from './CopyButton.js'
import { useQrCode } from './use-qr-code.js'

function Card({ title, value, detail, tone, testId }: { title: string; value: ReactNode; detail?: ReactNode; tone?: 'ok' | 'warn' | 'muted'; testId?: string }): ReactElement {
  return (
    <article className={`card stat${tone ? ` tone-${tone}` : ''}`} data-testid={testId}>
      <h3 className="stat-title">{title}</h3>
      <p className="stat-value">{value}</p>
      {detail && <p className="stat-detail">{detail}</p>}
    </article>
  )
}

const sentence = (text: string): string => (text ? `${text[0]!.toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}` : text)

function relayDetail(health: Health): string {
  const relay = health.relay
  const text = RELAY_TEXT[relay.state]
  if (relay.state === 'reserved' || relay.state === 'disabled') return text.meaning
  const next = relay.relays.map((r) => r.nextAttemptInMs).filter((ms): ms is number => ms !== undefined)
  const soonest = next.length > 0 ? Math.min(...next) : undefined
  return soonest !== undefined ? `${text.meaning} Next try in ${Math.max(1, Math.ceil(soonest / 1000))} s.` : text.meaning
}

export function Overview(): ReactElement {
  const health = useAppState((s) => s.health)
  const loadError = useAppState((s) => s.loadErrors.health)
  const wallet = useAppState((s) => s.wallet)
  const live = useAppState(liveness)
  const lastSyncedAt = useAppState((s) => s.lastSyncedAt)
  if (!health) {
    return (
      <p className={loadError ? 'empty field-error' : 'empty'} role={loadError ? 'alert' : 'status'}>
        {loadError ?? 'Loading the node’s health…'}
      </p>
    )
  }
  const status = live === 'live' ? health.status : live === 'connecting' ? 'unknown' : live
  const words = HEALTH_TEXT[status]
  const relay = RELAY_TEXT[health.relay.state]
  return (
    <div className="stack">
      <section className={`hero hero-${live === 'live' ? health.status : 'down'}`} aria-labelledby="hero-title" data-testid="overview-status" data-status={status}>
        <div>
          <h2 id="hero-title">{words.headline}</h2>
          {live !== 'live' ? (
            <p className="muted">
              {live === 'down' ? 'The wallet service answers, but its node is stopped.' : 'The wallet service cannot be reached.'}
              {lastSyncedAt !== null ? ` The figures below are from ${clockTime(lastSyncedAt)} and may be out of date.` : ''}
            </p>
          ) : health.reasons.length === 1 ? (
            <p className="muted">{sentence(health.reasons[0]!)}</p>
          ) : health.reasons.length > 1 ? (
            <ul className="reasons">
              {health.reasons.map((r) => (
                <li key={r}>{sentence(r)}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">Your node is online{health.relay.state === 'reserved' ? ' and reachable from anywhere' : ''}.</p>
          )}
        </div>
      </section>

      <div className="grid">
        <Card
          title="Relay"
          testId="relay-card"
          value={relay.label}
          detail={relayDetail(health)}
          tone={health.relay.state === 'reserved' ? 'ok' : health.relay.state === 'disabled' ? 'muted' : 'warn'}
        />
        <Card title="Peers" value={`${health.connections} connected`} detail={`${health.peers} known in the directory`} />
        <Card
          title="Chain"
          value={health.chain?.height != null ? `Block ${health.chain.height.toLocaleString('en-US')}` : 'Not connected'}
          detail={health.chain ? `${health.chain.network} · ${health.chain.state === 'ok' ? 'in sync' : health.chain.state}` : 'The chain service is not set up yet.'}
          tone={health.chain?.state === 'ok' ? 'ok' : 'muted'}
        />
        {wallet?.ready && (
          <Card
            title="Balance"
            testId="overview-balance"
            value={formatSats(walletTotal(wallet))}
            detail={`${formatSats(wallet.balance.confirmed)} confirmed${wallet.balance.unconfirmed > 0 ? ` · ${formatSats(wallet.balance.unconfirmed)} waiting for a block` : ''}`}
          />
        )}
        {health.channels && <Card title="Channels" value={`${health.channels.open} open`} detail={`${health.channels.pending} pending · ${health.channels.total} in total`} />}
      </div>

      <OwnNode health={health} />
    </div>
  )
}

/**
 * This node as others see it: how it can be reached, in words; the one address to share
 * (copy or scan); every address behind a disclosure for those who want them.
 */
function OwnNode({ health }: { health: Health }): ReactElement {
  const reach = ownReachability(health.multiaddrs, health.relay.state)
  const best = bestAddress(health.multiaddrs)
  const share = best ?? health.peerId
  const qr = useQrCode(share || ' ')
  return (
    <section className="card own-node" aria-labelledby="node-title" data-testid="own-node">
      <h3 id="node-title" className="section-title">
        Your node
      </h3>
      <div className="own-node-body">
        <div className="own-node-text">
          <p className="own-reach" data-testid="own-reachability" data-reach={reach.reach}>
            <span className={`conn-dot conn-${reach.reach === 'direct' ? 'direct' : reach.reach === 'relay' ? 'relayed' : reach.reach === 'local' ? 'none' : 'unreachable'}`} aria-hidden="true" />
            <strong>{reach.label}</strong>
          </p>
          <p className="field-help">{reach.detail}</p>
          <dl className="facts">
            <dt>Peer ID</dt>
            <dd className="mono-row">
              <span className="mono wrap-anywhere" data-testid="own-peer-id">
                {health.peerId || '—'}
              </span>
              {health.peerId && <CopyButton text={health.peerId} label="Copy peer ID" />}
            </dd>
            <dt>Your address</dt>
            <dd className="mono-row">
              {best ? (
                <>
                  <span className="mono wrap-anywhere" data-testid="own-address">
                    {best}
                  </span>
                  <CopyButton text={best} label="Copy your address" />
                </>
              ) : (
                <span className="muted">None yet</span>
              )}
            </dd>
            <dt>Running for</dt>
            <dd>{duration(health.uptimeSeconds)}</dd>
            <dt>Version</dt>
            <dd>{health.version}</dd>
          </dl>
          {health.multiaddrs.length > 0 && (
            <details className="address-details" data-testid="own-addresses">
              <summary>All addresses ({health.multiaddrs.length})</summary>
              <ul className="addresses">
                {health.multiaddrs.map((a) => (
                  <li key={a} className="address">
                    <span className="pill">{ADDRESS_KIND_TEXT[addressKind(a)]}</span>
                    <span className="mono wrap-anywhere">{a}</span>
                    <CopyButton text={a} label={`Copy ${ADDRESS_KIND_TEXT[addressKind(a)].toLowerCase()} address`} />
                  </li>
                ))}
              </ul>
            </details>
          )}
        </div>
        {share && (
          <figure className="own-qr">
            {qr ? <img className="qr" src={qr} width={168} height={168} alt={`QR code of your ${best ? 'peer address' : 'peer ID'}`} data-testid="own-qr" /> : <div className="qr qr-placeholder" aria-hidden="true" />}
            <figcaption className="field-help">Scan to get your {best ? 'address' : 'peer ID'}</figcaption>
          </figure>
        )}
      </div>
    </section>
  )
}
