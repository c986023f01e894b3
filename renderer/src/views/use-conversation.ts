import { useCallback, useEffect, useRef, useState } from 'react'
import type { Message } from '../../../shared/contract/index.js'
import { humanError } from '../human.js'
import { THREAD_PAGE, type ThreadChange, applyThreadChange, mergeThread } from '../message-text.js'
import { useApp, useAppState } from './app-context.js'

export interface Conversation {
  /** Oldest first; null until the first page loaded. */
  messages: Message[] | null
  error: string | null
  /** Lays a change known from an answer (a send, a retry, a delete) over the thread at once. */
  apply: (change: ThreadChange) => void
}

/**
 * The messages with one peer: the newest page when shown (and again after a reconnect or a
 * node restart, so nothing missed while away stays missing), then live from the `message`
 * and `messageDeleted` events. Events that come while a page loads are laid over it, so a
 * page that left before them never takes them back. Never a poll.
 */
export function useConversation(peerId: string): Conversation {
  const { connection } = useApp()
  const open = useAppState((s) => s.connection === 'open')
  const [messages, setMessages] = useState<Message[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [generation, setGeneration] = useState(0)
  // The changes seen since the page in flight was asked for; null when none is in flight.
  const sinceLoad = useRef<ThreadChange[] | null>(null)

  const apply = useCallback((change: ThreadChange) => {
    sinceLoad.current?.push(change)
    setMessages((list) => (list ? applyThreadChange(list, change) : list))
  }, [])

  useEffect(() => {
    const offs = [
      connection.events.on('message', (m) => {
        if (m.peerId === peerId) apply({ kind: 'upsert', message: m })
      }),
      connection.events.on('messageDeleted', (d) => {
        if (d.peerId === peerId) apply({ kind: 'delete', seq: d.seq })
      }),
      connection.events.on('restarted', () => setGeneration((g) => g + 1)),
    ]
    return () => {
      for (const off of offs) off()
    }
  }, [connection, peerId, apply])

  useEffect(() => {
    if (!open) return
    let current = true
    const collected: ThreadChange[] = []
    sinceLoad.current = collected
    const done = (): void => {
      if (sinceLoad.current === collected) sinceLoad.current = null
    }
    connection.api.listMessages({ peerId, limit: THREAD_PAGE }).then(
      (page) => {
        if (!current) return
        done()
        setMessages(mergeThread(page, collected))
        setError(null)
      },
      (err: unknown) => {
        if (!current) return
        done()
        setError(humanError(err))
      },
    )
    return () => {
      current = false
      done()
    }
  }, [connection, peerId, open, generation])

  return { messages, error, apply }
}
