import { type FormEvent, type ReactElement, useCallback, useEffect, useId, useRef, useState } from 'react'
import { useApp } from '../app-context.js'
import { useAction } from '../use-action.js'

/**
 * The recovery words, only after the passphrase, and only while this card is on screen:
 * "Hide" forgets them, and leaving the view unmounts them with the component.
 */
export function Backup(): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [passphrase, setPassphrase] = useState('')
  const reveal = useCallback((p: string) => connection.api.backupWallet({ passphrase: p }), [connection])
  const action = useAction(reveal)
  const words = action.result ? action.result.mnemonic.split(/\s+/) : null
  const hide = useRef<HTMLButtonElement>(null)
  const shown = words !== null
  useEffect(() => {
    if (shown) hide.current?.focus()
  }, [shown])

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending) return
    const text = passphrase
    setPassphrase('')
    await action.run(text)
  }

  return (
    <section className="card wallet-backup" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="section-title">
        Back up
      </h3>
      <p className="field-help form-intro">The recovery words restore this wallet anywhere. Anyone who sees them can take your coins: write them on paper, and never share them.</p>
      {words ? (
        <>
          <ol className="recovery-words" aria-label="Recovery words" data-testid="backup-words">
            {words.map((w, i) => (
              <li key={i}>
                <span className="muted">{i + 1}.</span> <span className="mono">{w}</span>
              </li>
            ))}
          </ol>
          <button type="button" className="primary" onClick={action.reset} data-testid="backup-hide" ref={hide}>
            Hide the words
          </button>
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label htmlFor={`${id}-pass`}>Wallet passphrase</label>
          <input
            id={`${id}-pass`}
            type="password"
            value={passphrase}
            autoComplete="current-password"
            disabled={action.pending}
            aria-invalid={action.error ? true : undefined}
            aria-describedby={`${id}-msg`}
            data-testid="backup-passphrase"
            onChange={(e) => {
              setPassphrase(e.target.value)
              action.reset()
            }}
          />
          <div className="form-actions">
            <button type="submit" className="secondary" disabled={action.pending} data-testid="backup-submit">
              {action.pending ? <span className="spinner small" aria-hidden="true" /> : null}
              {action.pending ? 'Checking…' : 'Show recovery words'}
            </button>
            <p id={`${id}-msg`} className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : undefined} data-testid="backup-message">
              {action.error ?? 'The passphrase the wallet was started with; leave it empty if it has none.'}
            </p>
          </div>
        </form>
      )}
    </section>
  )
}
