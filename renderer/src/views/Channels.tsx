import { type ReactElement, useMemo } from 'react'
import { relayPeerIds } from '../peer-address.js'
import { useAppState } from './app-context.js'
import { ChannelRow } from './channels/ChannelRow.js'
import { OpenChannelForm } from './channels/OpenChannelForm.js'

export function Channels(): ReactElement {
  const channels = useAppState((s) => s.channels)
  const peers = useAppState((s) => s.peers)
  const height = useAppState((s) => s.health?.chain?.height)
  const relays = useAppState((s) => s.health?.relay.relays)
  const loadError = useAppState((s) => s.loadErrors.channels)
  const relayPeers = useMemo(() => relayPeerIds((relays ?? []).map((r) => r.multiaddr)), [relays])
  const names = useMemo(() => new Map(peers.flatMap((p) => (p.name ? [[p.peerId, p.name] as const] : []))), [peers])
  const open = channels.filter((c) => c.state === 'open').length
  const pending = channels.filter((c) => c.state === 'proposed' || c.state === 'funding' || c.state === 'closing').length
  return (
    <div className="stack">
      <OpenChannelForm relayIds={relayPeers} />
      <section className="card" aria-labelledby="channel-list-title">
        <div className="section-head">
          <h3 id="channel-list-title" className="section-title">
            Your channels
          </h3>
          <span className="muted" data-testid="channel-count">
            {channels.length === 0 ? 'None yet' : `${open} open${pending > 0 ? ` · ${pending} in progress` : ''} · ${channels.length} in total`}
          </span>
        </div>
        {loadError && <p className="field-error">{loadError}</p>}
        {channels.length === 0 ? (
          <p className="empty">Channels you open, and channels peers open to pay you, appear here.</p>
        ) : (
          <ul className="channel-list" aria-label="Channels">
            {channels.map((c) => (
              <ChannelRow key={c.id} channel={c} height={height} peerName={names.get(c.peerId)} />
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
