import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import { CHANNEL_MEMO_MAX, type Channel } from '../../../../shared/contract/index.js'
import { parseSats, remainingSats } from '../../channel-text.js'
import { formatSats } from '../../human.js'
import { payeeUnreachableText } from '../../peer-text.js'
import { useApp, useAppState } from '../app-context.js'
import { useKeyedAction } from '../use-action.js'

/** Pay through an open channel of ours: whole sats, at most what is left in it. */
export function PayForm({ channel }: { channel: Channel }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [amount, setAmount] = useState('')
  const [memo, setMemo] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const pay = useCallback((idempotencyKey: string, p: { channelId: string; sats: number; memo?: string }) => connection.api.pay({ ...p, idempotencyKey }), [connection])
  const action = useKeyedAction(pay)
  const remaining = remainingSats(channel)
  // Only a payee the directory knows to be away holds Pay; one not listed or not tried yet may be reached.
  const away = payeeUnreachableText(useAppState((s) => s.peers.find((p) => p.peerId === channel.peerId)))

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending || away) return
    action.reset()
    const parsed = parseSats(amount, { min: 1, max: remaining, what: 'amount', maxWhy: (max) => (max === 0 ? 'This channel is used up: nothing is left to pay.' : `That is more than is left in this channel: at most ${formatSats(max)}.`) })
    setProblem(parsed.problem)
    if (parsed.sats === null) return
    const note = memo.trim()
    if (await action.run({ channelId: channel.id, sats: parsed.sats, ...(note ? { memo: note } : {}) })) {
      setAmount('')
      setMemo('')
    }
  }

  const message = problem ?? action.error
  return (
    <form className="pay-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Pay through this channel">
      <div className="pay-fields">
        <div>
          <label htmlFor={`${id}-sats`}>Amount (sats)</label>
          <input
            id={`${id}-sats`}
            inputMode="numeric"
            value={amount}
            placeholder="e.g. 1000"
            autoComplete="off"
            disabled={action.pending}
            aria-invalid={problem ? true : undefined}
            aria-describedby={`${id}-msg`}
            data-testid="pay-sats"
            onChange={(e) => {
              setAmount(e.target.value)
              setProblem(null)
              action.reset()
            }}
          />
        </div>
        <div className="pay-memo">
          <label htmlFor={`${id}-memo`}>Note (optional)</label>
          <input id={`${id}-memo`} value={memo} maxLength={CHANNEL_MEMO_MAX} autoComplete="off" disabled={action.pending} data-testid="pay-memo" onChange={(e) => setMemo(e.target.value)} />
        </div>
        <button type="submit" className="primary" disabled={action.pending || remaining === 0 || away !== null} aria-describedby={away ? `${id}-away` : undefined} data-testid="pay-submit">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Paying…' : 'Pay'}
        </button>
      </div>
      {away && (
        <p id={`${id}-away`} className="field-help pay-unreachable" data-testid="pay-unreachable">
          {away}
        </p>
      )}
      {/* A failure is an alert; a payment made is said by the channel list's one live region. */}
      <p id={`${id}-msg`} className={message ? 'field-error' : 'field-help'} role={message ? 'alert' : undefined} data-testid="pay-message">
        {message ?? (action.result ? `Paid. The peer holds the signed payment (${formatSats(action.result.paidSats)} in total).` : `Up to ${formatSats(remaining)}. A payment counts once the peer has stored it.`)}
      </p>
    </form>
  )
}
