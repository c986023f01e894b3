import { type FormEvent, type ReactElement, useCallback, useId, useMemo, useState } from 'react'
import type { WalletInfo } from '../../../../shared/contract/index.js'
import { MIN_CAPACITY_SATS, openOutcome, parseSats, peerIdProblem } from '../../channel-text.js'
import { formatSats, shortPeerId } from '../../human.js'
import { useApp, useAppState } from '../app-context.js'
import { FormField } from '../FormField.js'
import { usePeerNamer } from '../PeerName.js'
import { useKeyedAction } from '../use-action.js'

/** The wallet part of the store, when the wallet domain is there. */
const selectWallet = (s: object): WalletInfo | null => (s as { wallet?: WalletInfo | null }).wallet ?? null

/** Both balances: the funding may spend coins still in the mempool. */
const spendable = (w: WalletInfo): number => w.balance.confirmed + w.balance.unconfirmed

type Problems = { peer?: string; capacity?: string }

export function OpenChannelForm({ relayIds }: { relayIds: Set<string> }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const peers = useAppState((s) => s.peers)
  const channels = useAppState((s) => s.channels)
  const peerName = usePeerNamer()
  const ownPeerId = useAppState((s) => s.health?.peerId)
  const wallet = useAppState(selectWallet)
  const [peerId, setPeerId] = useState('')
  const [capacity, setCapacity] = useState('')
  const [problems, setProblems] = useState<Problems>({})
  const open = useCallback((idempotencyKey: string, p: { peerId: string; capacitySats: number }) => connection.api.openChannel({ ...p, idempotencyKey }), [connection])
  const action = useKeyedAction(open)
  const candidates = useMemo(() => peers.filter((p) => p.connected && !relayIds.has(p.peerId)), [peers, relayIds])

  // The balance from the store when the wallet domain follows it; otherwise asked once per
  // submit. Unknown (no wallet service): the service's own check answers instead.
  const balance = async (): Promise<number | null> => {
    if (wallet) return wallet.ready ? spendable(wallet) : null
    try {
      const w = await connection.api.getWallet()
      return w.ready ? spendable(w) : null
    } catch {
      return null
    }
  }

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending) return
    action.reset()
    const peerWhy = peerIdProblem(peerId, ownPeerId)
    const have = await balance()
    const amount = parseSats(capacity, {
      min: MIN_CAPACITY_SATS,
      ...(have !== null ? { max: Math.max(0, have - 1) } : {}),
      maxWhy: () => `That is more than your wallet can fund: it holds ${formatSats(have ?? 0)}, and opening also costs a small fee.`,
      what: 'capacity',
    })
    const next: Problems = { ...(peerWhy ? { peer: peerWhy } : {}), ...(amount.problem ? { capacity: amount.problem } : {}) }
    setProblems(next)
    if (peerWhy || amount.sats === null) return
    if (await action.run({ peerId: peerId.trim(), capacitySats: amount.sats })) {
      setPeerId('')
      setCapacity('')
    }
  }

  const result = action.result
  // What became of the channel since: the words follow it, and go once it is no longer open or proposed.
  const now = result ? (channels.find((c) => c.id === result.id)?.state ?? result.state) : null
  const outcome = result && now ? openOutcome(peerName(result.peerId), result.state, now) : null
  const status = action.error ?? outcome
  return (
    <form className="card channel-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="open-channel-form">
      <h3 id={`${id}-title`} className="section-title">
        Open a channel
      </h3>
      <p className="field-help form-intro">A channel locks an amount from your wallet so you can pay one peer many times, instantly. What you do not spend comes back when it closes.</p>
      <div className="form-grid">
        <div>
          <FormField
            id={`${id}-peer`}
            label="Peer ID"
            problem={problems.peer}
            help={candidates.length > 0 ? 'Pick a connected peer below, or paste a peer ID.' : 'Paste the peer ID of someone you are connected to (see Peers).'}
            messageTestId="channel-peer-message"
          >
            {(control) => (
              <input
                {...control}
                className="mono-input"
                value={peerId}
                placeholder="Peer ID: 12D3KooW… (52 characters)"
                autoComplete="off"
                spellCheck={false}
                disabled={action.pending}
                data-testid="channel-peer"
                onChange={(e) => {
                  setPeerId(e.target.value)
                  setProblems((p) => ({ ...p, peer: undefined }))
                  action.reset()
                }}
              />
            )}
          </FormField>
          {candidates.length > 0 && (
            <ul className="chips pick-list" aria-label="Connected peers">
              {candidates.map((p) => (
                <li key={p.peerId}>
                  <button
                    type="button"
                    className="chip-button"
                    aria-pressed={peerId.trim() === p.peerId}
                    disabled={action.pending}
                    data-testid="channel-peer-pick"
                    data-peer-id={p.peerId}
                    onClick={() => {
                      setPeerId(p.peerId)
                      setProblems((x) => ({ ...x, peer: undefined }))
                      action.reset()
                    }}
                  >
                    {peerName(p.peerId) !== shortPeerId(p.peerId) ? `${peerName(p.peerId)} · ` : ''}
                    <span className="mono">{shortPeerId(p.peerId)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <FormField
            id={`${id}-capacity`}
            label="Capacity (sats)"
            problem={problems.capacity}
            help={wallet?.ready ? `At least ${formatSats(MIN_CAPACITY_SATS)}; your wallet holds ${formatSats(spendable(wallet))}.` : `Whole satoshis, at least ${formatSats(MIN_CAPACITY_SATS)}.`}
            messageTestId="channel-capacity-message"
          >
            {(control) => (
              <input
                {...control}
                inputMode="numeric"
                value={capacity}
                placeholder="e.g. 50000"
                autoComplete="off"
                disabled={action.pending}
                data-testid="channel-capacity"
                onChange={(e) => {
                  setCapacity(e.target.value)
                  setProblems((p) => ({ ...p, capacity: undefined }))
                  action.reset()
                }}
              />
            )}
          </FormField>
        </div>
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={action.pending} data-testid="open-channel-submit">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Opening… (funding the channel)' : 'Open channel'}
        </button>
        <p className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'} data-testid="open-channel-message">
          {status ?? ''}
        </p>
      </div>
    </form>
  )
}
