import { type ReactElement, useCallback } from 'react'
import { CopyButton } from '../CopyButton.js'
import { useApp } from '../app-context.js'
import { useKeyedAction } from '../use-action.js'
import { useQrCode } from '../use-qr-code.js'

export function Receive({ address }: { address: string }): ReactElement {
  const { connection } = useApp()
  const qr = useQrCode(address)
  const fresh = useCallback((idempotencyKey: string) => connection.api.newAddress({ idempotencyKey }), [connection])
  const action = useKeyedAction(fresh)
  return (
    <section className="card wallet-receive" aria-labelledby="wallet-receive-title">
      <h3 id="wallet-receive-title" className="section-title">
        Receive
      </h3>
      <div className="receive-body">
        {qr ? <img className="qr" src={qr} width={168} height={168} alt={`QR code of your receive address ${address}`} data-testid="receive-qr" /> : <div className="qr qr-placeholder" aria-hidden="true" />}
        <div className="receive-text">
          <p className="field-help">Give this address to whoever pays you. A new one for each payer keeps your payments apart.</p>
          <p className="mono-row">
            <span className="mono receive-address" data-testid="receive-address">
              {address}
            </span>
            <CopyButton text={address} label="Copy receive address" />
          </p>
          <div className="form-actions">
            <button type="button" className="secondary" disabled={action.pending} onClick={() => void action.run()} data-testid="new-address">
              {action.pending ? <span className="spinner small" aria-hidden="true" /> : null}
              {action.pending ? 'Making a new address…' : 'New address'}
            </button>
            <p className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'}>
              {action.error ?? (action.result ? 'A new address is ready. Coins sent to older ones still arrive.' : '')}
            </p>
          </div>
        </div>
      </div>
    </section>
  )
}
