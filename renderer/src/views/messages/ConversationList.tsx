import { type ReactElement, memo, useEffect } from 'react'
import type { Conversation } from '../../../../shared/contract/index.js'
import { shortClock } from '../../human.js'
import { CONVERSATIONS_SHOWN, applyUnread } from '../../store/messages-slice.js'
import { useApp, useAppState } from '../app-context.js'
import { PeerName } from '../PeerName.js'
import { messageTime } from './thread-state.js'

const preview = (text: string): string => {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}

const ConversationItem = memo(function ConversationItem({ conversation: c, selected }: { conversation: Conversation; selected: boolean }): ReactElement {
  const at = messageTime(c.last)
  return (
    <li className={`conversation-item${c.unread > 0 ? ' has-unread' : ''}`} data-testid="conversation" data-conversation={c.peerId} data-unread={c.unread}>
      <a href={`#/messages/${encodeURIComponent(c.peerId)}`} aria-current={selected ? 'true' : undefined}>
        <span className="conversation-top">
          <PeerName peerId={c.peerId} />
          {Number.isNaN(at) ? null : <time dateTime={new Date(at).toISOString()}>{shortClock(at)}</time>}
        </span>
        <span className="conversation-bottom">
          <span className="conversation-last">
            {c.last.direction === 'out' ? 'You: ' : ''}
            {preview(c.last.text)}
          </span>
          {c.unread > 0 && (
            <span className="unread-badge" data-testid="conversation-unread">
              <span aria-hidden="true">{c.unread > 999 ? '999+' : c.unread}</span>
              <span className="sr-only">, {c.unread} unread</span>
            </span>
          )}
        </span>
      </a>
    </li>
  )
})

/**
 * After a batch that left messages out (or the deletion of a conversation's last message)
 * the list is read again from the engine: batches only ever move it forward.
 */
function useConversationResync(): void {
  const { connection, store } = useApp()
  const resync = useAppState((s) => s.messagesResync)
  useEffect(() => {
    if (resync === 0) return
    let current = true
    Promise.all([connection.api.listConversations({ limit: CONVERSATIONS_SHOWN }), connection.api.getUnread()]).then(
      ([conversations, unread]) => {
        if (current) store.setState({ conversations: applyUnread(conversations, unread), unread })
      },
      () => {
        // The next event or reconnect brings the list again.
      },
    )
    return () => {
      current = false
    }
  }, [resync, connection, store])
}

/** One entry per peer, the most recent conversation first. */
export function ConversationList({ selected }: { selected: string | null }): ReactElement {
  useConversationResync()
  const conversations = useAppState((s) => s.conversations)
  const loaded = useAppState((s) => s.loaded['messages'] === true)
  const error = useAppState((s) => s.loadErrors['messages'])
  if (!loaded) {
    return (
      <p className="empty" role={error ? 'alert' : undefined}>
        {error ? `The conversations could not be loaded: ${error}` : 'Loading conversations…'}
      </p>
    )
  }
  if (conversations.length === 0) return <p className="empty">No conversations yet. Open a peer on the Peers view and choose Message.</p>
  return (
    <ul className="conversation-list" aria-label="Conversations" data-testid="conversation-list">
      {conversations.map((c) => (
        <ConversationItem key={c.peerId} conversation={c} selected={c.peerId === selected} />
      ))}
    </ul>
  )
}
