import { type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import type { Channel } from '../../../shared/contract/index.js'
import { channelAnnouncement } from '../channel-text.js'
import { relayPeerIds } from '../peer-address.js'
import { useAppState } from './app-context.js'
import { ChannelRow } from './channels/ChannelRow.js'
import { OpenChannelForm } from './channels/OpenChannelForm.js'
import { usePeerNamer } from './PeerName.js'

export function Channels(): ReactElement {
  const all = useAppState((s) => s.channels)
  const [showArchived, setShowArchived] = useState(false)
  // Archived channels stay in the store (the wallet history names them); the list hides them unless asked.
  const channels = useMemo(() => all.filter((c) => c.archivedAt == null), [all])
  const archived = useMemo(() => all.filter((c) => c.archivedAt != null), [all])
  const shown = showArchived ? all : channels
  const height = useAppState((s) => s.health?.chain?.height)
  const relays = useAppState((s) => s.health?.relay.relays)
  const loadError = useAppState((s) => s.loadErrors.channels)
  const loaded = useAppState((s) => s.loaded.channels === true)
  const relayPeers = useMemo(() => relayPeerIds((relays ?? []).map((r) => r.multiaddr)), [relays])
  const peerName = usePeerNamer()
  const open = channels.filter((c) => c.state === 'open').length
  const pending = channels.filter((c) => c.state === 'proposed' || c.state === 'funding' || c.state === 'closing').length
  const announcement = useChannelAnnouncement(channels, peerName)
  const count = !loaded && channels.length === 0 ? (loadError ? 'Not loaded' : 'Loading…') : channels.length === 0 ? 'None yet' : `${open} open${pending > 0 ? ` · ${pending} in progress` : ''} · ${channels.length} in total`
  return (
    <div className="stack">
      <OpenChannelForm relayIds={relayPeers} />
      <section className="card" aria-labelledby="channel-list-title">
        <div className="section-head">
          <h3 id="channel-list-title" className="section-title">
            Your channels
          </h3>
          <span className="muted" data-testid="channel-count">
            {count}
          </span>
        </div>
        {/* The list's one live region: what changed in any channel, said once (rows are not live regions themselves). */}
        <p className="sr-only" role="status" aria-live="polite" data-testid="channel-live">
          {announcement}
        </p>
        {loadError && (
          <p className="field-error" role="alert">
            {loadError}
          </p>
        )}
        {channels.length === 0 && !loaded ? (
          loadError ? null : (
            <p className="empty" data-testid="channels-loading">
              <span className="spinner small" aria-hidden="true" /> Loading your channels…
            </p>
          )
        ) : shown.length === 0 ? (
          <p className="empty">{archived.length > 0 ? 'No channels but archived ones.' : 'Channels you open, and channels peers open to pay you, appear here.'}</p>
        ) : (
          <ul className="channel-list" aria-label="Channels">
            {shown.map((c) => (
              <ChannelRow key={c.id} channel={c} height={height} />
            ))}
          </ul>
        )}
        {archived.length > 0 && (
          <button type="button" className="link-button" aria-pressed={showArchived} onClick={() => setShowArchived((x) => !x)} data-testid="channels-show-archived" data-count={archived.length}>
            {showArchived ? `Hide archived (${archived.length})` : `Show archived (${archived.length})`}
          </button>
        )}
      </section>
    </div>
  )
}

/** The text of the channel list's live region: the channels that changed since the last render, in words. */
function useChannelAnnouncement(channels: readonly Channel[], peerName: (peerId: string) => string): string {
  const before = useRef<ReadonlyMap<string, string>>(new Map())
  const [text, setText] = useState('')
  useEffect(() => {
    const next = channelAnnouncement(before.current, channels, (c) => peerName(c.peerId))
    before.current = next.summaries
    if (next.text !== null) setText(next.text)
  }, [channels, peerName])
  return text
}
