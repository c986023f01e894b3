import { type ReactElement, useCallback, useId, useState } from 'react'
import type { Channel } from '../../../../shared/contract/index.js'
import { CHANNEL_FAILURE_TEXT, CHANNEL_PROBLEM_TITLE, CHANNEL_STATE_TEXT, blocksUntil, channelBreakdown, channelProgress, closeFailureHint, isArchivable, isCancellable, remainingSats } from '../../channel-text.js'
import { formatSats, shortPeerId } from '../../human.js'
import { useApp } from '../app-context.js'
import { CopyButton } from '../CopyButton.js'
import { usePeerNaming } from '../PeerName.js'
import { describeKeyedFailure, useKeyedAction } from '../use-action.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { PaymentHistory } from './PaymentHistory.js'
import { PayForm } from './PayForm.js'

const PENDING = new Set<Channel['state']>(['proposed', 'funding', 'closing'])
const ENDED = new Set<Channel['state']>(['closed', 'refunded', 'failed', 'rejected'])

function Amount({ label, sats, testId }: { label: string; sats: number; testId: string }): ReactElement {
  return (
    <div className="amount">
      <dt>{label}</dt>
      <dd data-testid={testId} data-sats={sats}>
        {formatSats(sats)}
      </dd>
    </div>
  )
}

/** A close the payee could not answer says what the payer can do (close later, or the refund); anything else as usual. */
const describeChannelFailure = (err: unknown): string => closeFailureHint(err) ?? describeKeyedFailure(err)

/** Accept/reject, close or cancel: each a slow action with its progress and failure. */
type ChannelActionKind = 'accept' | 'reject' | 'close' | 'archive'

function useChannelAction(channel: Channel): { run: (kind: ChannelActionKind) => Promise<boolean>; pending: boolean; error: string | null; kind: string | null } {
  const { connection } = useApp()
  const [kind, setKind] = useState<string | null>(null)
  const call = useCallback(
    (idempotencyKey: string, k: ChannelActionKind) => {
      const p = { channelId: channel.id, idempotencyKey }
      if (k === 'archive') return connection.api.archiveChannel(p)
      return k === 'accept' ? connection.api.acceptChannel(p) : k === 'reject' ? connection.api.rejectChannel(p) : connection.api.closeChannel(p)
    },
    [connection, channel.id],
  )
  const action = useKeyedAction(call, describeChannelFailure)
  return {
    run: async (k) => {
      setKind(k)
      return action.run(k)
    },
    pending: action.pending,
    error: action.error,
    kind,
  }
}

export function ChannelRow({ channel: c, height }: { channel: Channel; height: number | null | undefined }): ReactElement {
  const id = useId()
  const [expanded, setExpanded] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const action = useChannelAction(c)
  const words = CHANNEL_STATE_TEXT[c.state]
  const naming = usePeerNaming(c.peerId)
  const peer = naming.name
  const payer = c.role === 'payer'
  const progress = channelProgress(c, height)
  const expiry = blocksUntil(c.expiry, height)
  const cancellable = isCancellable(c)
  const closable = c.state === 'open'
  // A proposal to us waits for our answer, not for the network: no busy bar for it.
  const awaitingUs = c.role === 'payee' && c.state === 'proposed'
  const hasHistory = c.seq > 0 || c.state === 'open'
  const neverFunded = c.state === 'failed' || c.state === 'rejected'
  const breakdown = channelBreakdown(c)
  const archivable = isArchivable(c)

  return (
    <li className="channel" data-testid={`channel-${c.id}`} data-state={c.state} data-role={c.role} data-archived={c.archivedAt != null ? 'true' : undefined} aria-labelledby={`${id}-title`}>
      <div className="channel-head">
        <div className="channel-title">
          <strong id={`${id}-title`}>{payer ? `You pay ${peer}` : `${peer} pays you`}</strong>
          {naming.source !== 'id' && (
            <span className="mono muted" title={c.peerId}>
              {shortPeerId(c.peerId)}
            </span>
          )}
          <CopyButton text={c.peerId} label={`Copy peer ID of ${peer}`} />
        </div>
        <span className={`state-badge state-${words.tone}`} data-testid="channel-state" data-state={c.state}>
          {PENDING.has(c.state) && <span className="spinner small" aria-hidden="true" />}
          {words.label}
        </span>
      </div>

      <dl className="amounts">
        <Amount label="Capacity" sats={c.capacitySats} testId="channel-capacity-amount" />
        <Amount label={payer ? 'Paid' : 'Received'} sats={c.paidSats} testId="channel-paid" />
        {neverFunded ? null : <Amount label="Settlement fee" sats={breakdown.feeSats} testId="channel-fee" />}
        {neverFunded ? null : <Amount label={remainingLabel(c)} sats={remainingSats(c)} testId="channel-remaining" />}
      </dl>
      {!neverFunded && (
        <p className="muted channel-sum" data-testid="channel-sum">
          {breakdown.text}.
        </p>
      )}
      {c.state === 'failed' && c.failure ? (
        <p className="muted" data-testid="channel-failure" data-failure={c.failure}>
          {CHANNEL_FAILURE_TEXT[c.failure]}
        </p>
      ) : (
        neverFunded && <p className="muted">Never funded: nothing left {payer ? 'your wallet' : 'the payer’s wallet'} for it.</p>
      )}
      {c.problem && (
        <div className="channel-problem" role="alert" data-testid="channel-problem" data-problem={c.problem.code}>
          <strong>{CHANNEL_PROBLEM_TITLE[c.problem.code]}</strong>
          <p>{c.problem.message}</p>
        </div>
      )}

      {progress && (
        <div className="channel-progress" data-testid="channel-progress">
          {PENDING.has(c.state) && !awaitingUs && <div className="progress-bar" aria-hidden="true" />}
          <p>{progress}</p>
        </div>
      )}
      {(c.settlementTxid || c.fundingTxid || c.refundTxid) && (
        <dl className="txids">
          {c.fundingTxid && <TxidFact label="Funding" txid={c.fundingTxid} />}
          {c.settlementTxid && <TxidFact label="Settlement" txid={c.settlementTxid} testId="channel-settlement-txid" />}
          {c.refundTxid && <TxidFact label="Refund" txid={c.refundTxid} />}
        </dl>
      )}
      {!ENDED.has(c.state) && !c.settlementTxid && (
        <p className="muted channel-expiry" data-testid="channel-expiry">
          {payer ? 'Refund valid from' : 'Must settle before'} block {c.expiry.toLocaleString('en-US')}
          {expiry ? (expiry.blocks === 0 ? ' (reached)' : `, ${expiry.text}`) : ''}.
        </p>
      )}

      {payer && c.state === 'open' && <PayForm channel={c} />}

      <div className="channel-actions">
        {c.role === 'payee' && c.state === 'proposed' && (
          <>
            <button type="button" className="primary" disabled={action.pending} onClick={() => void action.run('accept')} data-testid="channel-accept">
              {action.pending && action.kind === 'accept' ? 'Accepting…' : 'Accept'}
            </button>
            <button type="button" className="secondary" disabled={action.pending} onClick={() => void action.run('reject')} data-testid="channel-reject">
              {action.pending && action.kind === 'reject' ? 'Rejecting…' : 'Reject'}
            </button>
          </>
        )}
        {(closable || cancellable) && (
          <button type="button" className="secondary" disabled={action.pending} onClick={() => setConfirming(true)} data-testid="channel-close">
            {action.pending && action.kind === 'close' ? <span className="spinner" aria-hidden="true" /> : null}
            {action.pending && action.kind === 'close' ? 'Closing…' : cancellable ? 'Cancel' : 'Close'}
          </button>
        )}
        {archivable && (
          <button type="button" className="secondary" disabled={action.pending} onClick={() => void action.run('archive')} data-testid="channel-archive" title="Hide this ended channel; its payments and wallet history are kept">
            {action.pending && action.kind === 'archive' ? 'Archiving…' : 'Archive'}
          </button>
        )}
        {hasHistory && (
          <button type="button" className="link-button" aria-expanded={expanded} aria-controls={`${id}-history`} onClick={() => setExpanded((x) => !x)} data-testid="channel-history-toggle">
            {expanded ? 'Hide payments' : 'Show payments'}
          </button>
        )}
      </div>
      {action.error && (
        <p className="field-error" role="alert" data-testid="channel-action-error">
          {action.error}
        </p>
      )}
      <div id={`${id}-history`} hidden={!expanded || !hasHistory}>
        {expanded && hasHistory && <PaymentHistory channel={c} />}
      </div>

      {confirming && (
        <ConfirmDialog
          title={cancellable ? 'Cancel this channel?' : 'Close this channel?'}
          confirmLabel={cancellable ? 'Cancel channel' : 'Close channel'}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false)
            void action.run('close')
          }}
        >
          {cancellable ? (
            <p>The proposal to {peer} is withdrawn; nothing is on chain yet.</p>
          ) : c.paidSats === 0 ? (
            <p>Nothing was paid{payer ? `: your ${formatSats(c.capacitySats)} come back through the refund at block ${c.expiry.toLocaleString('en-US')}` : ''}.</p>
          ) : (
            <p>
              The latest payment is settled on chain: {payer ? `${peer} receives` : 'you receive'} {formatSats(c.paidSats)}
              {payer ? ` and ${formatSats(remainingSats(c))} return to your wallet` : ''}. No more payments go through this channel.
            </p>
          )}
        </ConfirmDialog>
      )}
    </li>
  )
}

/** While payments may still come, what is left; once closing, where that part goes. */
function remainingLabel(c: Channel): string {
  const live = c.state === 'proposed' || c.state === 'funding' || c.state === 'open'
  if (c.role === 'payer') return live ? 'Left to pay' : 'Back to you'
  return live ? 'Can still receive' : 'Back to the payer'
}

function TxidFact({ label, txid, testId }: { label: string; txid: string; testId?: string }): ReactElement {
  return (
    <>
      <dt>{label}</dt>
      <dd className="mono-row">
        <span className="mono" data-testid={testId} title={txid}>
          {txid.slice(0, 16)}…{txid.slice(-8)}
        </span>
        <CopyButton text={txid} label={`Copy ${label.toLowerCase()} transaction id`} />
      </dd>
    </>
  )
}
