import { type RefObject, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import type { Message } from '../../../../shared/contract/index.js'
import { humanError } from '../../human.js'
import { useApp, useAppState } from '../app-context.js'
import { EMPTY_THREAD, THREAD_PAGE, type ThreadState, withFirstPage, withMessages, withOlderPage, withSent, withoutSeq } from './thread-state.js'

export interface Thread extends ThreadState {
  error: string | null
  loadingOlder: boolean
  /** Asks for the page before the first row (scrolled to the top). */
  loadOlder: () => void
  /** Reloads the newest page (after the newest end was dropped, or on resync). */
  reload: () => void
  /** What a send answered, shown at once. */
  addSent: (message: Message) => void
  /** What a retry or delete answered, shown at once. */
  replace: (message: Message) => void
  remove: (seq: number) => void
}

/**
 * The messages with one peer as a bounded window: the newest page when opened (again
 * after a reconnect, a node restart or a batch that says `resync`), then live from the
 * transport's `messages` batches (one state change per batch), older pages on demand.
 * Batches that come while a page loads are laid over it when it lands. Never a poll.
 * `followingRef` says whether the newest end is in view (then old rows leave the window).
 * Mount it keyed by peer: another peer is another thread, starting empty.
 */
export function useThread(peerId: string, followingRef: RefObject<boolean>): Thread {
  const { connection } = useApp()
  const open = useAppState((s) => s.connection === 'open')
  const resync = useAppState((s) => s.messagesResync)
  const [state, setState] = useState<ThreadState>(EMPTY_THREAD)
  const [error, setError] = useState<string | null>(null)
  const [loadingOlder, setLoadingOlder] = useState(false)
  const [generation, setGeneration] = useState(0)
  // Batches seen while the first page is in flight; null when none is.
  const sinceLoad = useRef<Message[][] | null>(null)
  const stateRef = useRef(state)
  useLayoutEffect(() => {
    stateRef.current = state
  }, [state])

  useEffect(() => {
    const offs = [
      connection.events.on('messages', (batch) => {
        // Some were left out: the store's messagesResync reloads the page instead.
        if (batch.resync) return
        const mine = batch.messages.filter((m) => m.peerId === peerId)
        if (mine.length === 0) return
        sinceLoad.current?.push(mine)
        setState((s) => (s.loaded ? withMessages(s, mine, followingRef.current) : s))
      }),
      connection.events.on('messageDeleted', (d) => {
        if (d.peerId === peerId) setState((s) => withoutSeq(s, d.seq))
      }),
      connection.events.on('restarted', () => setGeneration((g) => g + 1)),
    ]
    return () => {
      for (const off of offs) off()
    }
  }, [connection, peerId, followingRef])

  useEffect(() => {
    if (!open) return
    let current = true
    const collected: Message[][] = []
    sinceLoad.current = collected
    connection.api.listMessages({ peerId, limit: THREAD_PAGE }).then(
      (page) => {
        if (!current) return
        sinceLoad.current = null
        let next = withFirstPage(page)
        for (const batch of collected) next = withMessages(next, batch, true)
        setState(next)
        setError(null)
      },
      (err: unknown) => {
        if (!current) return
        sinceLoad.current = null
        setError(humanError(err))
      },
    )
    return () => {
      current = false
      if (sinceLoad.current === collected) sinceLoad.current = null
    }
  }, [connection, peerId, open, generation, resync])

  const loadingRef = useRef(false)
  const loadOlder = useCallback(() => {
    const s = stateRef.current
    const first = s.rows[0]
    if (!s.loaded || !s.hasOlder || !first || loadingRef.current) return
    loadingRef.current = true
    setLoadingOlder(true)
    connection.api.listMessages({ peerId, before: first.seq, limit: THREAD_PAGE }).then(
      (page) => {
        loadingRef.current = false
        setLoadingOlder(false)
        setState((cur) => (cur.rows[0]?.seq === first.seq ? withOlderPage(cur, page) : cur))
      },
      (err: unknown) => {
        loadingRef.current = false
        setLoadingOlder(false)
        setError(humanError(err))
      },
    )
  }, [connection, peerId])

  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  const addSent = useCallback((m: Message) => setState((s) => (s.loaded ? withSent(s, m) : s)), [])
  const replace = useCallback((m: Message) => setState((s) => (s.loaded ? withMessages(s, [m], followingRef.current) : s)), [followingRef])
  const remove = useCallback((seq: number) => setState((s) => withoutSeq(s, seq)), [])

  return { ...state, error, loadingOlder, loadOlder, reload, addSent, replace, remove }
}
