import { type ReactElement, useSyncExternalStore } from 'react'
import { ConversationList } from './ConversationList.js'
import { MessageSearch } from './MessageSearch.js'
import { Thread } from './Thread.js'

const subscribeHash = (onChange: () => void): (() => void) => {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

/** The peer of `#/messages/<peerId>`, or null on `#/messages`. */
function peerFromHash(hash: string): string | null {
  const m = /^#\/?messages\/([^/?#]+)/.exec(hash)
  if (!m) return null
  try {
    return decodeURIComponent(m[1]!)
  } catch {
    return null
  }
}

function useOpenPeer(): string | null {
  return useSyncExternalStore(subscribeHash, () => peerFromHash(window.location.hash))
}

/**
 * The inbox: conversations by peer (the most recent first, with unread counts), search,
 * and the open conversation. Peers' Message button opens it on that peer (`#/messages/<peerId>`).
 */
export function Messages(): ReactElement {
  const peerId = useOpenPeer()
  return (
    <div className={`messages-layout${peerId ? ' has-thread' : ''}`} data-testid="messages-view">
      <div className="conversations-pane">
        <MessageSearch />
        <ConversationList selected={peerId} />
      </div>
      {peerId ? (
        <Thread key={peerId} peerId={peerId} />
      ) : (
        <p className="thread-placeholder empty">Choose a conversation, or open a peer on the Peers view and choose Message.</p>
      )}
    </div>
  )
}

/** The unread total beside the Messages link: a number to see, words to hear. */
export function UnreadBadge({ total }: { total: number }): ReactElement | null {
  if (total === 0) return null
  return (
    <span className="nav-badge" data-testid="nav-unread" data-unread={total}>
      <span aria-hidden="true">{total > 999 ? '999+' : total}</span>
      <span className="sr-only">{`, ${total} unread message${total === 1 ? '' : 's'}`}</span>
    </span>
  )
}
