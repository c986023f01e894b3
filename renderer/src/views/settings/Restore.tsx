import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import { formatSats } from '../../human.js'
import { walletTotal } from '../../store/wallet-slice.js'
import { mnemonicProblem, mnemonicWords } from '../../wallet-text.js'
import { useApp } from '../app-context.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { useKeyedAction } from '../use-action.js'

interface Request {
  mnemonic: string
  passphrase?: string
}

export function Restore(): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [phrase, setPhrase] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<Request | null>(null)
  const restore = useCallback((idempotencyKey: string, r: Request) => connection.api.restoreWallet({ ...r, idempotencyKey }), [connection])
  const action = useKeyedAction(restore)

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    if (action.pending) return
    action.reset()
    const why = mnemonicProblem(phrase)
    setProblem(why)
    if (why) return
    setConfirming({ mnemonic: mnemonicWords(phrase).join(' '), ...(passphrase ? { passphrase } : {}) })
  }

  const confirm = async (request: Request): Promise<void> => {
    setConfirming(null)
    if (await action.run(request)) {
      setPhrase('')
      setPassphrase('')
    }
  }

  const result = action.result
  return (
    <form className="wallet-restore" onSubmit={submit} noValidate aria-label="Restore from recovery words" data-testid="restore-form">
      <p className="field-help form-intro">Replace this wallet’s keys with those of a recovery phrase, then find its coins on the chain.</p>
      <label htmlFor={`${id}-phrase`}>Recovery phrase</label>
      <textarea
        id={`${id}-phrase`}
        className="mono-input"
        rows={3}
        value={phrase}
        spellCheck={false}
        autoComplete="off"
        disabled={action.pending}
        aria-invalid={problem ? true : undefined}
        aria-describedby={`${id}-phrase-msg`}
        data-testid="restore-mnemonic"
        onChange={(e) => {
          setPhrase(e.target.value)
          setProblem(null)
          action.reset()
        }}
      />
      <p id={`${id}-phrase-msg`} className={problem ? 'field-error' : 'field-help'} role={problem ? 'alert' : undefined} data-testid="restore-mnemonic-message">
        {problem ?? '12 to 24 words, separated by spaces.'}
      </p>
      <label htmlFor={`${id}-pass`}>New passphrase (optional)</label>
      <input id={`${id}-pass`} type="password" value={passphrase} autoComplete="new-password" disabled={action.pending} aria-describedby={`${id}-pass-help`} data-testid="restore-passphrase" onChange={(e) => setPassphrase(e.target.value)} />
      <p id={`${id}-pass-help`} className="field-help">
        Encrypts the restored keys. Leave it empty to keep the wallet’s current protection.
      </p>
      <div className="form-actions">
        <button type="submit" className="secondary" disabled={action.pending} data-testid="restore-submit">
          {action.pending ? <span className="spinner small" aria-hidden="true" /> : null}
          {action.pending ? 'Restoring… (looking for its coins on the chain)' : 'Restore wallet'}
        </button>
        <p className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'} data-testid="restore-message">
          {action.error ?? (result ? `Restored. The wallet holds ${formatSats(walletTotal(result))}.` : '')}
        </p>
      </div>
      {confirming && (
        <ConfirmDialog title="Replace this wallet’s keys?" confirmLabel="Replace and restore" onConfirm={() => void confirm(confirming)} onCancel={() => setConfirming(null)}>
          <p>The keys of this wallet are replaced by those of the recovery phrase. Coins held by the current keys stay reachable only with the current recovery words.</p>
          <p className="field-help">Back up the current words first if this wallet holds anything.</p>
        </ConfirmDialog>
      )}
    </form>
  )
}
