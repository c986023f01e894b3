import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import type { WalletInfo } from '../../../../shared/contract/index.js'
import { parseSats } from '../../channel-text.js'
import { formatSats } from '../../human.js'
import { walletTotal } from '../../store/wallet-slice.js'
import { EXAMPLE_ADDRESS, addressProblem } from '../../wallet-text.js'
import { useApp } from '../app-context.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { useKeyedAction } from '../use-action.js'

type Problems = { address?: string; sats?: string }
interface Payment {
  address: string
  sats: number
}

export function SendForm({ wallet }: { wallet: WalletInfo }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [address, setAddress] = useState('')
  const [amount, setAmount] = useState('')
  const [problems, setProblems] = useState<Problems>({})
  const [confirming, setConfirming] = useState<Payment | null>(null)
  const send = useCallback((idempotencyKey: string, p: Payment) => connection.api.send({ ...p, idempotencyKey }), [connection])
  const action = useKeyedAction(send)
  const balance = walletTotal(wallet)

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    if (action.pending) return
    action.reset()
    const addressWhy = addressProblem(address)
    const sats = parseSats(amount, {
      min: 1,
      max: balance,
      maxWhy: () => `That is more than your wallet holds: its balance is ${formatSats(balance)}, and a send also pays a small fee.`,
      what: 'amount',
    })
    setProblems({ ...(addressWhy ? { address: addressWhy } : {}), ...(sats.problem ? { sats: sats.problem } : {}) })
    if (addressWhy || sats.sats === null) return
    setConfirming({ address: address.trim(), sats: sats.sats })
  }

  const confirm = async (payment: Payment): Promise<void> => {
    setConfirming(null)
    if (await action.run(payment)) {
      setAddress('')
      setAmount('')
    }
  }

  const result = action.result
  const field = (key: keyof Problems) => ({
    disabled: action.pending,
    autoComplete: 'off',
    'aria-invalid': problems[key] ? true : undefined,
    'aria-describedby': `${id}-${key}-msg`,
  })
  return (
    <form className="card wallet-send" onSubmit={submit} noValidate aria-labelledby={`${id}-title`} data-testid="send-form">
      <h3 id={`${id}-title`} className="section-title">
        Send
      </h3>
      <div className="form-grid">
        <div>
          <label htmlFor={`${id}-address`}>Pay to address</label>
          <input
            id={`${id}-address`}
            className="mono-input"
            value={address}
            placeholder={EXAMPLE_ADDRESS}
            spellCheck={false}
            data-testid="send-address"
            {...field('address')}
            onChange={(e) => {
              setAddress(e.target.value)
              setProblems((p) => ({ ...p, address: undefined }))
              action.reset()
            }}
          />
          <p id={`${id}-address-msg`} className={problems.address ? 'field-error' : 'field-help'} role={problems.address ? 'alert' : undefined} data-testid="send-address-message">
            {problems.address ?? 'The receiver’s address, as they gave it to you.'}
          </p>
        </div>
        <div>
          <label htmlFor={`${id}-sats`}>Amount (sats)</label>
          <input
            id={`${id}-sats`}
            inputMode="numeric"
            value={amount}
            placeholder="10000"
            data-testid="send-sats"
            {...field('sats')}
            onChange={(e) => {
              setAmount(e.target.value)
              setProblems((p) => ({ ...p, sats: undefined }))
              action.reset()
            }}
          />
          <p id={`${id}-sats-msg`} className={problems.sats ? 'field-error' : 'field-help'} role={problems.sats ? 'alert' : undefined} data-testid="send-sats-message">
            {problems.sats ?? `Whole satoshis; your wallet holds ${formatSats(balance)}.`}
          </p>
        </div>
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={action.pending} data-testid="send-submit">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Sending… (waiting for the chain to accept it)' : 'Send'}
        </button>
        <p className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'} data-testid="send-message">
          {action.error ?? (result ? `Sent ${formatSats(result.sats)} (fee ${formatSats(result.fee)}). Transaction ID: ` : '')}
          {result && !action.error && (
            <span className="mono txid" data-testid="send-txid">
              {result.txid}
            </span>
          )}
        </p>
      </div>
      {confirming && (
        <ConfirmDialog title="Send these coins?" confirmLabel={`Send ${formatSats(confirming.sats)}`} onConfirm={() => void confirm(confirming)} onCancel={() => setConfirming(null)}>
          <p>
            Pay <strong>{formatSats(confirming.sats)}</strong> to
          </p>
          <p className="mono receive-address">{confirming.address}</p>
          <p className="field-help">A small miner fee comes on top. A payment on the chain cannot be taken back.</p>
        </ConfirmDialog>
      )}
    </form>
  )
}
