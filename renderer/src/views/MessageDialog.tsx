import { type FormEvent, type KeyboardEvent, type ReactElement, useCallback, useEffect, useId, useRef, useState } from 'react'
import { MESSAGE_TEXT_MAX, type Message, type Peer } from '../../../shared/contract/index.js'
import { shortClock, shortPeerId } from '../human.js'
import { type ThreadChange, outboundStatusText, sendResultText, sentMessage } from '../message-text.js'
import { reachabilityText } from '../peer-text.js'
import { useApp, useAppState } from './app-context.js'
import { useKeyedAction } from './use-action.js'
import { useConversation } from './use-conversation.js'

/** When a message was written (ours) or arrived (theirs: the sender's clock is not trusted). */
const messageTime = (m: Message): number => Date.parse(m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt)

/** One message of the thread; an outbound one says where it stands, and one not delivered can be retried or deleted. */
function MessageItem({ message: m, peerConnected, onChange }: { message: Message; peerConnected: boolean; onChange: (change: ThreadChange) => void }): ReactElement {
  const { connection } = useApp()
  const retryCall = useCallback(
    async (idempotencyKey: string, seq: number) => {
      const updated = await connection.api.retryMessage({ seq, idempotencyKey })
      onChange({ kind: 'upsert', message: updated })
      return updated
    },
    [connection, onChange],
  )
  const deleteCall = useCallback(
    async (idempotencyKey: string, seq: number) => {
      const deleted = await connection.api.deleteMessage({ seq, idempotencyKey })
      onChange({ kind: 'delete', seq: deleted.seq })
      return deleted
    },
    [connection, onChange],
  )
  const retry = useKeyedAction(retryCall)
  const remove = useKeyedAction(deleteCall)
  const out = m.direction === 'out'
  const busy = retry.pending || remove.pending
  const error = retry.error ?? remove.error
  const at = messageTime(m)

  return (
    <li className={`message message-${m.direction} message-${m.status}`} data-testid="message" data-status={m.status} data-direction={m.direction} data-seq={m.seq}>
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
}

/**
 * The conversation with one peer, in a modal: the messages oldest first, live as they come,
 * and a composer. Escape closes it, focus stays inside, and a send in flight cannot be sent
 * twice. A message to a peer that cannot be reached is kept and delivered later: not an error.
 */
export function MessageDialog({ peer: opened, onClose }: { peer: Peer; onClose: () => void }): ReactElement {
  const { connection } = useApp()
  const ref = useRef<HTMLDialogElement>(null)
  const threadRef = useRef<HTMLDivElement>(null)
  const formRef = useRef<HTMLFormElement>(null)
  const id = useId()
  const [text, setText] = useState('')
  const peer = useAppState((s) => s.peers.find((p) => p.peerId === opened.peerId)) ?? opened
  const peerId = opened.peerId
  const { messages, error: loadError, apply } = useConversation(peerId)
  const peerConnected = peer.connected || peer.reachability === 'connected'

  const send = useCallback(
    async (idempotencyKey: string, body: string) => {
      const result = await connection.api.sendMessage({ peerId, text: body, idempotencyKey })
      apply({ kind: 'sent', message: sentMessage(result, peerId, body) })
      return result
    },
    [connection, peerId, apply],
  )
  const action = useKeyedAction(send)

  useEffect(() => {
    const dialog = ref.current
    dialog?.showModal()
    return () => dialog?.close()
  }, [])

  // The newest message in view: on open, and whenever one is added or removed.
  const count = messages?.length ?? 0
  useEffect(() => {
    const thread = threadRef.current
    if (thread) thread.scrollTop = thread.scrollHeight
  }, [count])

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (text.trim() === '' || action.pending) return
    if (await action.run(text)) setText('')
  }

  // Ctrl+Enter (⌘+Enter) sends; Enter alone is a new line.
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault()
      formRef.current?.requestSubmit()
    }
  }

  const name = peer.name ?? shortPeerId(peerId)
  return (
    <dialog ref={ref} className="dialog conversation" aria-labelledby={`${id}-title`} aria-describedby={`${id}-reach`} onClose={onClose} onCancel={() => onClose()} data-testid="message-dialog">
      <h3 id={`${id}-title`}>Messages with {name}</h3>
      <p id={`${id}-reach`} className="muted conversation-reach" data-testid="conversation-reachability" data-reachability={peer.reachability}>
        {reachabilityText(peer)}
      </p>
      <div ref={threadRef} className="thread" role="log" aria-label={`Messages with ${name}`} tabIndex={0} data-testid="message-thread">
        {messages === null ? (
          <p className="empty">{loadError ? 'The messages could not be loaded.' : 'Loading messages…'}</p>
        ) : messages.length === 0 ? (
          <p className="empty">No messages yet. Write the first one below.</p>
        ) : (
          <ol className="messages">
            {messages.map((m) => (
              <MessageItem key={m.seq} message={m} peerConnected={peerConnected} onChange={apply} />
            ))}
          </ol>
        )}
      </div>
      {loadError && (
        <p className="field-error" role="alert" data-testid="message-load-error">
          {loadError}
        </p>
      )}
      <form ref={formRef} onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${id}-text`}>Message</label>
        <textarea
          id={`${id}-text`}
          rows={3}
          maxLength={MESSAGE_TEXT_MAX}
          value={text}
          disabled={action.pending}
          aria-describedby={`${id}-msg`}
          data-testid="message-text"
          onChange={(e) => {
            setText(e.target.value)
            if (action.error || action.result) action.reset()
          }}
          onKeyDown={onKeyDown}
          autoFocus
        />
        <p id={`${id}-msg`} className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'} data-testid="message-send-status" data-status={action.result?.status}>
          {action.error ?? (action.result ? sendResultText(action.result.status) : peerConnected ? 'Delivered once the peer confirms it stored the message. Ctrl+Enter sends.' : 'The peer is not connected: your message is kept and delivered when they are back. Ctrl+Enter sends.')}
        </p>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.pending || text.trim() === ''} data-testid="message-send">
            {action.pending ? 'Sending…' : 'Send'}
          </button>
        </div>
      </form>
    </dialog>
  )
}
