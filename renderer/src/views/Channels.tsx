import { type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import type { Channel } from '../../../shared/contract/index.js'
import { channelAnnouncement } from '../channel-text.js'
import { shortPeerId } from '../human.js'
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
  const loaded = useAppState((s) => s.loaded.channels === true)
  const relayPeers = useMemo(() => relayPeerIds((relays ?? []).map((r) => r.multiaddr)), [relays])
  const names = useMemo(() => new Map(peers.flatMap((p) => (p.name ? [[p.peerId, p.name] as const] : []))), [peers])
  const open = channels.filter((c) => c.state === 'open').length
  const pending = channels.filter((c) => c.state === 'proposed' || c.state === 'funding' || c.state === 'closing').length
  const announcement = useChannelAnnouncement(channels, names)
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
        ) : channels.length === 0 ? (
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

/** The text of the channel list's live region: the channels that changed since the last render, in words. */
function useChannelAnnouncement(channels: readonly Channel[], names: ReadonlyMap<string, string>): string {
  const before = useRef<ReadonlyMap<string, string>>(new Map())
  const [text, setText] = useState('')
  useEffect(() => {
    const next = channelAnnouncement(before.current, channels, (c) => names.get(c.peerId) ?? shortPeerId(c.peerId))
    before.current = next.summaries
    if (next.text !== null) setText(next.text)
  }, [channels, names])
  return text
}
