import { type FormEvent, type KeyboardEvent, type ReactElement, useCallback, useEffect, useId, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react'
import { MESSAGE_TEXT_MAX } from '../../../../shared/contract/index.js'
import { sendResultText, sentMessage } from '../../message-text.js'
import { reachabilityText } from '../../peer-text.js'
import { applyUnread } from '../../store/messages-slice.js'
import { useApp, useAppState } from '../app-context.js'
import { PeerName, usePeerName } from '../PeerName.js'
import { useKeyedAction } from '../use-action.js'
import { MessageRow } from './MessageRow.js'
import { newestInbound } from './thread-state.js'
import { useThread } from './use-thread.js'

/** Within this many pixels of an end counts as at it. */
const EDGE_PX = 48

const subscribeVisibility = (onChange: () => void): (() => void) => {
  document.addEventListener('visibilitychange', onChange)
  window.addEventListener('focus', onChange)
  return () => {
    document.removeEventListener('visibilitychange', onChange)
    window.removeEventListener('focus', onChange)
  }
}

/** Whether the window is shown: a conversation is read only while someone can see it. */
function useDocumentVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => document.visibilityState === 'visible')
}

/**
 * The conversation with one peer: a bounded window of its messages oldest first, live as
 * they come, older pages when scrolled to the top, and the composer below. Opening it (while
 * the window is visible) marks what it shows read. A message to a peer that cannot be
 * reached is kept and delivered later: not an error.
 */
export function Thread({ peerId }: { peerId: string }): ReactElement {
  const { connection, store } = useApp()
  const id = useId()
  const peer = useAppState((s) => s.peers.find((p) => p.peerId === peerId))
  const unreadHere = useAppState((s) => s.unread.byPeer[peerId] ?? 0)
  const lastSeq = useAppState((s) => s.conversations.find((c) => c.peerId === peerId)?.last.seq ?? 0)
  const name = usePeerName(peerId)
  const scrollRef = useRef<HTMLDivElement>(null)
  const formRef = useRef<HTMLFormElement>(null)
  const followingRef = useRef(true)
  const thread = useThread(peerId, followingRef)
  const visible = useDocumentVisible()
  const peerConnected = peer ? peer.connected || peer.reachability === 'connected' : false
  const [text, setText] = useState('')

  // Where the rows were before this render: a page put before them keeps what was in view.
  const layout = useRef<{ firstSeq: number; height: number }>({ firstSeq: 0, height: 0 })
  const firstSeq = thread.rows[0]?.seq ?? 0
  const lastRowSeq = thread.rows.at(-1)?.seq ?? 0
  useLayoutEffect(() => {
    const el = scrollRef.current
    if (!el) return
    const before = layout.current
    if (before.firstSeq !== 0 && firstSeq !== 0 && firstSeq < before.firstSeq && !followingRef.current) el.scrollTop += el.scrollHeight - before.height
    else if (followingRef.current) el.scrollTop = el.scrollHeight
    layout.current = { firstSeq, height: el.scrollHeight }
  }, [firstSeq, lastRowSeq, thread.rows.length, thread.loaded])

  const { loadOlder } = thread
  const onScroll = useCallback(() => {
    const el = scrollRef.current
    if (!el) return
    followingRef.current = el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX
    if (el.scrollTop < EDGE_PX) loadOlder()
  }, [loadOlder])

  // Opening the conversation reads it, up to what it shows; only while the window is visible.
  const newestIn = newestInbound(thread.rows)
  const marking = useRef(0)
  useEffect(() => {
    if (!visible || !thread.loaded || unreadHere === 0) return
    const upToSeq = Math.max(newestIn, lastSeq)
    if (upToSeq <= marking.current) return
    marking.current = upToSeq
    connection.api.markConversationRead({ peerId, upToSeq }).then(
      (unread) => store.setState((s) => ({ unread, conversations: applyUnread(s.conversations, unread) })),
      () => {
        // Counted as unread still; the next change tries again.
        marking.current = 0
      },
    )
  }, [visible, thread.loaded, unreadHere, newestIn, lastSeq, peerId, connection, store])

  const { addSent } = thread
  const send = useCallback(
    async (idempotencyKey: string, body: string) => {
      const result = await connection.api.sendMessage({ peerId, text: body, idempotencyKey })
      followingRef.current = true
      addSent(sentMessage(result, peerId, body))
      return result
    },
    [connection, peerId, addSent],
  )
  const action = useKeyedAction(send)

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

  const showNewest = (): void => {
    followingRef.current = true
    thread.reload()
  }

  return (
    <section className="thread-pane" aria-labelledby={`${id}-title`} data-testid="thread-view" data-thread={peerId} data-loaded={thread.loaded ? 'true' : 'false'}>
      <header className="thread-head">
        <a className="thread-back" href="#/messages">
          <span aria-hidden="true">‹ </span>All conversations
        </a>
        <h2 id={`${id}-title`}>
          <PeerName peerId={peerId} />
        </h2>
        <p className="muted conversation-reach" data-testid="conversation-reachability" data-reachability={peer?.reachability ?? 'unknown'}>
          {peer ? reachabilityText(peer) : 'Not connected'}
        </p>
      </header>
      <div ref={scrollRef} className="thread" role="log" aria-label={`Messages with ${name}`} onScroll={onScroll} data-testid="message-thread">
        {thread.loaded && !thread.hasOlder && thread.rows.length > 0 && <p className="thread-start muted">The beginning of your conversation.</p>}
        {thread.loadingOlder && (
          <p className="thread-start muted" role="status">
            Loading earlier messages…
          </p>
        )}
        {!thread.loaded ? (
          <p className="empty">{thread.error ? 'The messages could not be loaded.' : 'Loading messages…'}</p>
        ) : thread.rows.length === 0 ? (
          <p className="empty">No messages yet. Write the first one below.</p>
        ) : (
          <ol className="messages">
            {thread.rows.map((m) => (
              <MessageRow key={m.seq} message={m} peerConnected={peerConnected} onReplace={thread.replace} onRemove={thread.remove} />
            ))}
          </ol>
        )}
        {thread.hasNewer && (
          <button type="button" className="secondary thread-newest" onClick={showNewest} data-testid="thread-show-newest">
            Show the newest messages
          </button>
        )}
      </div>
      {thread.error && (
        <p className="field-error" role="alert" data-testid="message-load-error">
          {thread.error}
        </p>
      )}
      <form ref={formRef} className="composer" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${id}-text`}>Message to {name}</label>
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
        />
        <p id={`${id}-msg`} className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'} data-testid="message-send-status" data-status={action.result?.status}>
          {action.error ?? (action.result ? sendResultText(action.result.status) : peerConnected ? 'Delivered once the peer confirms it stored the message. Ctrl+Enter sends.' : 'The peer is not connected: your message is kept and delivered when they are back. Ctrl+Enter sends.')}
        </p>
        <div className="composer-actions">
          <button type="submit" className="primary" disabled={action.pending || text.trim() === ''} data-testid="message-send">
            {action.pending ? 'Sending…' : 'Send'}
          </button>
        </div>
      </form>
    </section>
  )
}
