import { type FormEvent, type ReactElement, useCallback, useId, useMemo, useState } from 'react'
import { type Peer, isMethodName } from '../../../shared/contract/index.js'
import { formatSats, relativeTime, shortPeerId } from '../human.js'
import { EXAMPLE_ADDRESS, peerAddressProblem, relayPeerIds } from '../peer-address.js'
import { reachabilityText } from '../peer-text.js'
import { useApp, useAppState } from './app-context.js'
import { CopyButton } from './CopyButton.js'
import { PeerName, usePeerNaming } from './PeerName.js'
import { ContactForm } from './peers/ContactForm.js'
import { useAction } from './use-action.js'

function ConnectForm(): ReactElement {
  const { connection } = useApp()
  const inputId = useId()
  const [address, setAddress] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const dial = useCallback((multiaddr: string) => connection.api.connectPeer({ multiaddr }), [connection])
  const action = useAction(dial)

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    action.reset()
    const why = peerAddressProblem(address)
    setProblem(why)
    if (why) return
    if (await action.run(address.trim())) setAddress('')
  }

  const message = problem ?? action.error
  return (
    <form className="card connect-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${inputId}-title`}>
      <h3 id={`${inputId}-title`} className="section-title">
        Connect to a peer
      </h3>
      <label htmlFor={inputId}>Peer address</label>
      <div className="input-row">
        <input
          id={inputId}
          name="multiaddr"
          className="mono-input"
          value={address}
          placeholder={`e.g. ${EXAMPLE_ADDRESS}`}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={message ? true : undefined}
          aria-describedby={`${inputId}-help`}
          disabled={action.pending}
          onChange={(e) => {
            setAddress(e.target.value)
            if (problem) setProblem(null)
            if (action.error) action.reset()
          }}
        />
        <button type="submit" className="primary" disabled={action.pending} data-testid="connect-submit">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Connecting…' : 'Connect'}
        </button>
      </div>
      <p id={`${inputId}-help`} className={message ? 'field-error' : 'field-help'} role={message ? 'alert' : undefined} data-testid="connect-message">
        {message ??
          (action.result
            ? (
              <>
                Connected to <PeerName peerId={action.result.peerId} /> {action.result.connection === 'relayed' ? 'through the relay' : 'directly'}.
              </>
            )
            : 'Paste the address the other person shared with you. It ends with /p2p/ and their peer ID.')}
      </p>
    </form>
  )
}

function PeerRow({ peer, isRelay, canMessage, onMessage }: { peer: Peer; isRelay: boolean; canMessage: boolean; onMessage: (peer: Peer) => void }): ReactElement {
  const naming = usePeerNaming(peer.peerId)
  const [editing, setEditing] = useState(false)
  // A relay that does not announce a name is still known for what it is.
  const name = naming.source === 'id' && isRelay ? 'Your relay' : naming.name
  const contactName = naming.source === 'contact' ? naming.name : undefined
  return (
    <li className="peer" data-testid="peer-row" data-peer-id={peer.peerId} data-connection={peer.connection} data-reachability={peer.reachability} data-name-source={naming.source}>
      <div className="peer-main">
        <div className="peer-name">
          <span className={`conn-dot conn-${peer.reachability === 'unreachable' ? 'unreachable' : peer.connection}`} aria-hidden="true" />
          <strong data-testid="peer-name" title={peer.peerId}>
            {name}
          </strong>
          {name !== shortPeerId(peer.peerId) && (
            <span className="mono muted" title={peer.peerId}>
              {shortPeerId(peer.peerId)}
            </span>
          )}
          <CopyButton text={peer.peerId} label={`Copy peer ID of ${name}`} />
        </div>
        {contactName && naming.announced && naming.announced !== contactName && <div className="peer-meta muted">Calls itself “{naming.announced}”</div>}
        <div className="peer-meta">
          <span data-testid="peer-reachability">{reachabilityText(peer)}</span>
          <span aria-hidden="true">·</span>
          <span>seen {relativeTime(peer.lastSeen)}</span>
        </div>
        {peer.services.length > 0 && (
          <ul className="chips" aria-label="Services">
            {peer.services.map((s) => (
              <li key={s.name} className="chip" title={s.description} data-testid="peer-service">
                {s.name} · {formatSats(s.priceSats)}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="peer-actions">
        <button type="button" className="secondary" onClick={() => setEditing((open) => !open)} aria-expanded={editing} data-testid="contact-edit">
          {contactName ? 'Rename' : 'Name…'}
        </button>
        <button type="button" className="secondary" disabled={!canMessage} title={canMessage ? undefined : isRelay ? 'A relay only forwards connections; it does not take messages' : 'Messaging is not available in this version'} onClick={() => onMessage(peer)}>
          Message
        </button>
      </div>
      {editing ? (
        <ContactForm peerId={peer.peerId} current={contactName} announced={naming.announced} onDone={() => setEditing(false)} />
      ) : null}
    </li>
  )
}

export function Peers(): ReactElement {
  const peers = useAppState((s) => s.peers)
  const relays = useAppState((s) => s.health?.relay.relays)
  const relayPeers = useMemo(() => relayPeerIds((relays ?? []).map((r) => r.multiaddr)), [relays])
  const loadError = useAppState((s) => s.loadErrors.peers)
  const loaded = useAppState((s) => s.loaded.peers === true)
  const canMessage = isMethodName('sendMessage')
  const connected = peers.filter((p) => p.connected).length
  return (
    <div className="stack">
      <ConnectForm />
      <section className="card" aria-labelledby="peer-list-title">
        <div className="section-head">
          <h3 id="peer-list-title" className="section-title">
            Directory
          </h3>
          <span className="muted" data-testid="peer-count">
            {peers.length === 0 && !loaded ? (loadError ? 'Not loaded' : 'Loading…') : peers.length === 0 ? 'No peers yet' : `${connected} of ${peers.length} connected`}
          </span>
        </div>
        {loadError && (
          <p className="field-error" role="alert">
            {loadError}
          </p>
        )}
        {peers.length === 0 && !loaded ? (
          loadError ? null : (
            <p className="empty" data-testid="peers-loading">
              <span className="spinner small" aria-hidden="true" /> Loading the directory…
            </p>
          )
        ) : peers.length === 0 ? (
          <p className="empty">Peers you connect to or discover appear here.</p>
        ) : (
          <ul className="peer-list">
            {peers.map((p) => (
              <PeerRow
                key={p.peerId}
                peer={p}
                isRelay={relayPeers.has(p.peerId)}
                canMessage={canMessage && !relayPeers.has(p.peerId)}
                onMessage={(peer) => {
                  // The conversation opens in the Messages view.
                  window.location.hash = `#/messages/${encodeURIComponent(peer.peerId)}`
                }}
              />
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
