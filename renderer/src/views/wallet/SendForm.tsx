import { type FormEvent, type ReactElement, useCallback, useEffect, useId, useState } from 'react'
import { ContractError, type SendPreview, type WalletInfo } from '../../../../shared/contract/index.js'
import { checkAddress } from '../../address-check.js'
import { parseSats } from '../../channel-text.js'
import { formatSats, humanError } from '../../human.js'
import { walletTotal } from '../../store/wallet-slice.js'
import { EXAMPLE_ADDRESS } from '../../wallet-text.js'
import { useApp } from '../app-context.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { FormField } from '../FormField.js'
import { useKeyedAction } from '../use-action.js'

type Problems = { address?: string; sats?: string }
interface Payment {
  address: string
  sats: number
}
/** The fee and total of what the form holds now, or why it cannot be sent; `key` says which input it belongs to. */
type Preview = { key: string; result: SendPreview; error?: undefined } | { key: string; result?: undefined; error: string }

/** How long typing must pause before the fee is worked out again. */
const PREVIEW_DELAY_MS = 250

const previewKey = (address: string, sats: number): string => `${address}\n${sats}`

export function SendForm({ wallet }: { wallet: WalletInfo }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [address, setAddress] = useState('')
  const [amount, setAmount] = useState('')
  const [problems, setProblems] = useState<Problems>({})
  const [preview, setPreview] = useState<Preview | null>(null)
  const [checking, setChecking] = useState(false)
  const [checkError, setCheckError] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<(Payment & { preview: SendPreview }) | null>(null)
  const send = useCallback((idempotencyKey: string, p: Payment) => connection.api.send({ ...p, idempotencyKey }), [connection])
  const action = useKeyedAction(send)
  const balance = walletTotal(wallet)

  // The address as typed, checked at once (network, checksum); an incomplete one waits for submit.
  const addressCheck = checkAddress(address, wallet.network)
  const addressShown = problems.address ?? (!addressCheck.ok && !addressCheck.incomplete ? addressCheck.problem : undefined)
  const typedSats = parseSats(amount, { min: 1, what: 'amount' }).sats
  const previewAddress = addressCheck.ok ? addressCheck.address : address.trim() === '' ? '' : null
  const currentKey = typedSats !== null && previewAddress !== null ? previewKey(previewAddress, typedSats) : null

  // The fee and the total of what the form holds, from the wallet itself (a dry run of the
  // send: same coins, same fee), again whenever the input or the balance changes.
  useEffect(() => {
    if (currentKey === null || typedSats === null || previewAddress === null) return
    let cancelled = false
    const timer = setTimeout(() => {
      connection.api
        .previewSend({ sats: typedSats, ...(previewAddress ? { address: previewAddress } : {}) })
        .then((result) => !cancelled && setPreview({ key: currentKey, result }))
        .catch((err: unknown) => !cancelled && setPreview({ key: currentKey, error: humanError(err) }))
    }, PREVIEW_DELAY_MS)
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [connection, currentKey, typedSats, previewAddress, balance])
  const shownPreview = preview && preview.key === currentKey ? preview : null
  const previewError = shownPreview?.error !== undefined && !problems.sats ? shownPreview.error : null

  const edited = (): void => {
    setCheckError(null)
    action.reset()
  }

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending || checking) return
    edited()
    const sats = parseSats(amount, {
      min: 1,
      max: balance,
      maxWhy: () => `That is more than your wallet holds: its balance is ${formatSats(balance)}, and a send also pays a small fee.`,
      what: 'amount',
    })
    const addressWhy = addressCheck.ok ? null : addressCheck.problem
    setProblems({ ...(addressWhy ? { address: addressWhy } : {}), ...(sats.problem ? { sats: sats.problem } : {}) })
    if (!addressCheck.ok || sats.sats === null) return
    // The fee as the wallet would pay it now: shown in the dialog, and any refusal (not
    // enough coins once the fee is added, an address the wallet will not pay) before it.
    const payment = { address: addressCheck.address, sats: sats.sats }
    setChecking(true)
    try {
      const result = await connection.api.previewSend(payment)
      setPreview({ key: previewKey(payment.address, payment.sats), result })
      setConfirming({ ...payment, preview: result })
    } catch (err) {
      const why = humanError(err)
      const code = err instanceof ContractError ? err.code : null
      if (code === 'wrong_network' || code === 'invalid_address') setProblems({ address: why })
      else if (code === 'insufficient_funds') setProblems({ sats: why })
      else setCheckError(why)
    } finally {
      setChecking(false)
    }
  }

  /** Everything spendable less the fee, as the wallet works it out. */
  const fillMax = async (): Promise<void> => {
    edited()
    setProblems((p) => ({ ...p, sats: undefined }))
    setChecking(true)
    try {
      const result = await connection.api.previewSend({ max: true, ...(addressCheck.ok ? { address: addressCheck.address } : {}) })
      setAmount(String(result.sats))
      setPreview({ key: previewKey(addressCheck.ok ? addressCheck.address : '', result.sats), result })
    } catch (err) {
      setProblems((p) => ({ ...p, sats: humanError(err) }))
    } finally {
      setChecking(false)
    }
  }

  const confirm = async (payment: Payment): Promise<void> => {
    setConfirming(null)
    if (await action.run(payment)) {
      setAddress('')
      setAmount('')
      setPreview(null)
    }
  }

  const busy = action.pending || checking
  const result = action.result
  const failure = action.error ?? checkError
  return (
    <form className="card wallet-send" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="send-form">
      <h3 id={`${id}-title`} className="section-title">
        Send
      </h3>
      <div className="form-grid">
        <div>
          <FormField
            id={`${id}-address`}
            label="Pay to address"
            problem={addressShown}
            help={addressCheck.ok ? `A valid ${wallet.network} address.` : 'The receiver’s address, as they gave it to you.'}
            messageTestId="send-address-message"
          >
            {(control) => (
              <input
                {...control}
                className="mono-input"
                value={address}
                placeholder={`e.g. ${EXAMPLE_ADDRESS}`}
                spellCheck={false}
                data-testid="send-address"
                disabled={action.pending}
                autoComplete="off"
                onChange={(e) => {
                  setAddress(e.target.value)
                  setProblems((p) => ({ ...p, address: undefined }))
                  edited()
                }}
              />
            )}
          </FormField>
        </div>
        <div>
          <FormField id={`${id}-sats`} label="Amount (sats)" problem={problems.sats} help={`Whole satoshis; your wallet holds ${formatSats(balance)}.`} messageTestId="send-sats-message">
            {(control) => (
              <div className="input-with-button">
                <input
                  {...control}
                  inputMode="numeric"
                  value={amount}
                  placeholder="e.g. 10000"
                  data-testid="send-sats"
                  disabled={action.pending}
                  autoComplete="off"
                  onChange={(e) => {
                    setAmount(e.target.value)
                    setProblems((p) => ({ ...p, sats: undefined }))
                    edited()
                  }}
                />
                <button type="button" className="secondary" disabled={busy} onClick={() => void fillMax()} title="Everything spendable, less the fee" data-testid="send-max">
                  Max
                </button>
              </div>
            )}
          </FormField>
        </div>
      </div>
      <p className={previewError ? 'field-error send-preview' : 'field-help send-preview'} role={previewError ? 'alert' : 'status'} data-testid="send-preview">
        {shownPreview?.result && !problems.sats ? (
          <>
            Miner fee <strong data-testid="send-fee">{formatSats(shownPreview.result.feeSats)}</strong>; <strong data-testid="send-total">{formatSats(shownPreview.result.totalSats)}</strong> leaves
            your wallet in all.
          </>
        ) : (
          previewError
        )}
      </p>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy} data-testid="send-submit">
          {busy ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Sending… (waiting for the chain to accept it)' : checking ? 'Working out the fee…' : 'Send'}
        </button>
        <p className={failure ? 'field-error' : 'field-help'} role={failure ? 'alert' : 'status'} data-testid="send-message">
          {failure ?? (result ? `Sent ${formatSats(result.sats)} (fee ${formatSats(result.fee)}). Transaction ID: ` : '')}
          {result && !failure && (
            <span className="mono txid" data-testid="send-txid">
              {result.txid}
            </span>
          )}
        </p>
      </div>
      {confirming && (
        <ConfirmDialog
          title="Send these coins?"
          confirmLabel={`Send ${formatSats(confirming.sats)}`}
          onConfirm={() => void confirm({ address: confirming.address, sats: confirming.sats })}
          onCancel={() => setConfirming(null)}
        >
          <p>
            Pay <strong>{formatSats(confirming.sats)}</strong> to
          </p>
          <p className="mono receive-address">{confirming.address}</p>
          <dl className="send-sum">
            <dt>Miner fee</dt>
            <dd data-testid="confirm-fee">{formatSats(confirming.preview.feeSats)}</dd>
            <dt>Total leaving your wallet</dt>
            <dd data-testid="confirm-total">{formatSats(confirming.preview.totalSats)}</dd>
          </dl>
          <p className="field-help">A payment on the chain cannot be taken back.</p>
        </ConfirmDialog>
      )}
    </form>
  )
}
