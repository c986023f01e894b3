import { useCallback, useEffect, useRef, useState } from 'react'
import { WALLET_TX_LIST_MAX, type WalletTransaction } from '../../../../shared/contract/index.js'
import { humanError } from '../../human.js'
import { historyKey, mergeHistory } from '../../store/wallet-slice.js'
import { useApp, useAppState } from '../app-context.js'

const HISTORY_PAGE = 20
const RELOAD_DELAY_MS = 300

export interface History {
  items: WalletTransaction[] | null
  error: string | null
  /** A full page came back last time: there may be older ones. */
  hasMore: boolean
  loadingMore: boolean
  loadMore: () => void
}

/**
 * The wallet's transactions, newest first: the first page when shown, older pages on
 * request (`before` cursor), and the loaded span again once the wallet's balance changes
 * and settles for a moment. Never a poll.
 */
export function useWalletHistory(): History {
  const { connection } = useApp()
  const key = useAppState((s) => historyKey(s.wallet))
  const ready = useAppState((s) => s.wallet?.ready ?? false)
  const [items, setItems] = useState<WalletTransaction[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [loadingMore, setLoadingMore] = useState(false)
  const shown = useRef(0)
  const live = useRef(true)
  useEffect(() => {
    live.current = true
    return () => {
      live.current = false
    }
  }, [])

  useEffect(() => {
    if (!ready) return
    let current = true
    // The whole span already on screen, so a refresh never takes away what "Load more" added.
    const limit = Math.min(WALLET_TX_LIST_MAX, Math.max(HISTORY_PAGE, shown.current))
    const timer = setTimeout(
      () => {
        connection.api.listTransactions({ limit }).then(
          (page) => {
            if (!current) return
            shown.current = page.length
            setItems(page)
            setHasMore(page.length === limit)
            setError(null)
          },
          (err: unknown) => {
            if (current) setError(humanError(err))
          },
        )
      },
      shown.current > 0 ? RELOAD_DELAY_MS : 0,
    )
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [connection, key, ready])

  const loadMore = useCallback(() => {
    const oldest = items?.[items.length - 1]
    if (!oldest || loadingMore) return
    setLoadingMore(true)
    connection.api.listTransactions({ limit: HISTORY_PAGE, before: oldest.seq }).then(
      (page) => {
        if (!live.current) return
        setItems((list) => {
          const merged = mergeHistory(list ?? [], page)
          shown.current = merged.length
          return merged
        })
        setHasMore(page.length === HISTORY_PAGE)
        setLoadingMore(false)
        setError(null)
      },
      (err: unknown) => {
        if (!live.current) return
        setLoadingMore(false)
        setError(humanError(err))
      },
    )
  }, [connection, items, loadingMore])

  return { items, error, hasMore, loadingMore, loadMore }
}
