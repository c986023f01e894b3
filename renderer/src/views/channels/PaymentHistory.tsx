import { type ReactElement, useEffect, useMemo, useRef, useState } from 'react'
import type { Channel, ChannelPayment } from '../../../../shared/contract/index.js'
import { paymentsSeries } from '../../chart-data.js'
import { formatSats, humanError, relativeTime } from '../../human.js'
import { useApp } from '../app-context.js'
import { TimeChart } from '../charts/TimeChart.js'

const HISTORY_RELOAD_DELAY_MS = 300

/**
 * The channel's payments, newest first. Loaded when shown, and again once the channel's
 * sequence (told by its events) stops moving for a moment: never a poll, never a storm.
 */
export function PaymentHistory({ channel }: { channel: Channel }): ReactElement {
  const { connection } = useApp()
  const [payments, setPayments] = useState<ChannelPayment[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const loaded = useRef(false)
  useEffect(() => {
    let live = true
    // A burst of payments becomes one reload once it settles down.
    const timer = setTimeout(
      () => {
        connection.api.getChannel({ channelId: channel.id }).then(
          (c) => {
            if (!live) return
            loaded.current = true
            setPayments(c.payments)
            setError(null)
          },
          (err: unknown) => {
            if (live) setError(humanError(err))
          },
        )
      },
      loaded.current ? HISTORY_RELOAD_DELAY_MS : 0,
    )
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [connection, channel.id, channel.seq])

  const points = useMemo(() => (payments ? paymentsSeries(payments, channel.createdAt) : []), [payments, channel.createdAt])
  if (error) return <p className="field-error" role="alert">{error}</p>
  if (!payments) return <p className="muted" role="status">Loading payments…</p>
  if (payments.length === 0) return <p className="muted">No payments yet.</p>
  return (
    <>
      <TimeChart points={points} what={channel.role === 'payer' ? 'Paid' : 'Received'} testId="channel-payments-chart" height={120} empty="No payments yet." />
      <PaymentList payments={payments} />
    </>
  )
}

function PaymentList({ payments }: { payments: ChannelPayment[] }): ReactElement {
  return (
    <ol className="payments" aria-label="Payments" data-testid="channel-payments">
      {payments.map((p) => (
        <li key={p.seq} className="payment">
          <span className="payment-amount">{formatSats(p.sats)}</span>
          <span className="muted">{p.memo ?? ''}</span>
          <span className="muted">{p.status === 'sent' ? 'waiting for the peer' : relativeTime(p.createdAt)}</span>
        </li>
      ))}
    </ol>
  )
}
