import { type ReactElement, useId, useState } from 'react'
import { Restore } from './Restore.js'

/**
 * Restoring from recovery words replaces this wallet's keys: rare, and costly if done by
 * mistake. So it lives in Settings, and its form shows only after the person says they
 * understand and have this wallet's own words written down.
 */
export function RestoreCard({ walletHasKeys }: { walletHasKeys: boolean }): ReactElement {
  const id = useId()
  const [understood, setUnderstood] = useState(false)
  const [open, setOpen] = useState(false)
  return (
    <section className="card restore-card" aria-labelledby={`${id}-title`} data-testid="restore-card">
      <h3 id={`${id}-title`} className="section-title">
        Restore a wallet from recovery words
      </h3>
      {open ? (
        <Restore />
      ) : (
        <>
          <div className="warning-box" role="note" data-testid="restore-warning">
            <p>
              <strong>Restoring replaces this wallet.</strong> Its keys are swapped for those of the recovery words you type. Coins held by this wallet&rsquo;s current keys can then be reached
              only with its current recovery words.
            </p>
            {walletHasKeys && <p>Before you go on, make sure this wallet&rsquo;s recovery words are written down (Wallet → Back up), unless it holds nothing.</p>}
          </div>
          <label className="check">
            <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} data-testid="restore-acknowledge" />
            I understand that restoring replaces this wallet{walletHasKeys ? ', and its recovery words are written down' : ''}.
          </label>
          <div className="form-actions">
            <button type="button" className="secondary" disabled={!understood} onClick={() => setOpen(true)} data-testid="restore-reveal">
              Continue to restore
            </button>
          </div>
        </>
      )}
    </section>
  )
}
