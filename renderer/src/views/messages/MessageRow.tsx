import { type ReactElement, memo, useCallback } from 'react'
import type { Message } from '../../../../shared/contract/index.js'
import { shortClock } from '../../human.js'
import { outboundStatusText } from '../../message-text.js'
import { useApp } from '../app-context.js'
import { useKeyedAction } from '../use-action.js'
import { messageTime } from './thread-state.js'

interface MessageRowProps {
  message: Message
  peerConnected: boolean
  onReplace: (message: Message) => void
  onRemove: (seq: number) => void
}

/**
 * One message of a thread; an outbound one says where it stands, and one not delivered can
 * be retried (failed) or deleted (pending or failed). Memoised: a batch that adds rows
 * re-renders only the new and the changed ones.
 */
export const MessageRow = memo(function MessageRow({ message: m, peerConnected, onReplace, onRemove }: MessageRowProps): ReactElement {
  const { connection } = useApp()
  const retryCall = useCallback(
    async (idempotencyKey: string, seq: number) => {
      const updated = await connection.api.retryMessage({ seq, idempotencyKey })
      onReplace(updated)
      return updated
    },
    [connection, onReplace],
  )
  const deleteCall = useCallback(
    async (idempotencyKey: string, seq: number) => {
      const deleted = await connection.api.deleteMessage({ seq, idempotencyKey })
      onRemove(deleted.seq)
      return deleted
    },
    [connection, onRemove],
  )
  const retry = useKeyedAction(retryCall)
  const remove = useKeyedAction(deleteCall)
  const out = m.direction === 'out'
  const busy = retry.pending || remove.pending
  const error = retry.error ?? remove.error
  const at = messageTime(m)

  return (
    <li className={`message message-${m.direction} message-${m.status}`} data-testid="message" data-message-seq={m.seq} data-seq={m.seq} data-status={m.status} data-direction={m.direction}>
      <p className="message-text">{m.text}</p>
      <p className="message-meta">
        <span className="sr-only">{out ? 'You' : 'They'}, </span>
        {Number.isNaN(at) ? null : <time dateTime={new Date(at).toISOString()}>{shortClock(at)}</time>}
        {out && (
          <>
            <span aria-hidden="true"> · </span>
            <span data-testid="message-status">{outboundStatusText(m.status, peerConnected)}</span>
          </>
        )}
      </p>
      {out && (m.status === 'failed' || m.status === 'pending') && (
        <div className="message-actions">
          {m.status === 'failed' && (
            <button type="button" className="link-button" disabled={busy} onClick={() => void retry.run(m.seq)} data-testid="message-retry">
              {retry.pending ? 'Retrying…' : 'Retry'}
            </button>
          )}
          <button type="button" className="link-button" disabled={busy} onClick={() => void remove.run(m.seq)} data-testid="message-delete">
            {remove.pending ? 'Deleting…' : 'Delete'}
          </button>
        </div>
      )}
      {error && (
        <p className="field-error" role="alert" data-testid="message-action-error">
          {error}
        </p>
      )}
    </li>
  )
})
