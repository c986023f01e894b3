import type { Message } from '../../../../shared/contract/index.js'

/** Messages a thread asks for per page (its first, and each older one on scrolling up). */
export const THREAD_PAGE = 100
/** Rows kept while the newest are in view: the oldest leave as new ones arrive (scroll up to page back). */
export const THREAD_TAIL_ROWS = 200
/** Rows kept at most while paging back: past it the newest end is dropped (reloaded on the way back). */
export const THREAD_MAX_ROWS = 600

/**
 * One thread as shown: its rows oldest first (by seq), and whether more exists beyond each
 * end. A bounded window over a conversation of any length: every change costs one pass
 * over at most THREAD_MAX_ROWS rows per batch, never per message times the thread.
 */
export interface ThreadState {
  rows: Message[]
  /** The first page arrived. */
  loaded: boolean
  /** Older messages exist than the first row. */
  hasOlder: boolean
  /** Newer messages exist than the last row (dropped while paging back): the newest are reloaded. */
  hasNewer: boolean
}

export const EMPTY_THREAD: ThreadState = { rows: [], loaded: false, hasOlder: false, hasNewer: false }

// A delivered or received message never changes again: a late copy from before cannot undo it.
const FINAL = new Set<Message['status']>(['delivered', 'received'])

/** Index of `seq` in rows sorted by seq, or where it would go (as a negative: -(index + 1)). */
export function findSeq(rows: readonly Message[], seq: number): number {
  let lo = 0
  let hi = rows.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const s = rows[mid]!.seq
    if (s === seq) return mid
    if (s < seq) lo = mid + 1
    else hi = mid - 1
  }
  return -(lo + 1)
}

/** The first page (newest first, as listMessages answers): the thread's newest end. */
export function withFirstPage(page: readonly Message[], limit: number = THREAD_PAGE): ThreadState {
  return { rows: page.slice().reverse(), loaded: true, hasOlder: page.length >= limit, hasNewer: false }
}

/** An older page (newest first) goes before the rows; past THREAD_MAX_ROWS the newest end is dropped. */
export function withOlderPage(state: ThreadState, page: readonly Message[], limit: number = THREAD_PAGE): ThreadState {
  const first = state.rows[0]?.seq ?? Number.POSITIVE_INFINITY
  const older = page.filter((m) => m.seq < first).reverse()
  let rows = older.concat(state.rows)
  let hasNewer = state.hasNewer
  if (rows.length > THREAD_MAX_ROWS) {
    rows = rows.slice(0, THREAD_MAX_ROWS)
    hasNewer = true
  }
  return { ...state, rows, hasOlder: page.length >= limit, hasNewer }
}

/**
 * Messages of one batch for this thread laid over it. A known seq is replaced (unless it
 * would undo a final status); a new one is placed by seq (the newest append). While the
 * newest are followed the thread keeps its last THREAD_TAIL_ROWS; otherwise it may grow
 * to THREAD_MAX_ROWS, then messages past the newest end wait for the reload (hasNewer).
 */
export function withMessages(state: ThreadState, messages: readonly Message[], following: boolean): ThreadState {
  if (messages.length === 0) return state
  let rows: Message[] | null = null
  let hasNewer = state.hasNewer
  for (const m of messages) {
    const list = rows ?? state.rows
    const i = findSeq(list, m.seq)
    if (i >= 0) {
      const held = list[i]!
      if (held === m || (FINAL.has(held.status) && !FINAL.has(m.status))) continue
      rows ??= state.rows.slice()
      rows[i] = m
      continue
    }
    const at = -i - 1
    // Newer than a dropped newest end: it shows when the newest are reloaded.
    if (hasNewer && at === list.length) continue
    // Older than what is shown, while older pages exist: it shows when paged back to.
    if (at === 0 && state.hasOlder && list.length > 0) continue
    rows ??= state.rows.slice()
    if (at === rows.length) rows.push(m)
    else rows.splice(at, 0, m)
  }
  if (!rows) return state
  let hasOlder = state.hasOlder
  const cap = following ? THREAD_TAIL_ROWS : THREAD_MAX_ROWS
  if (rows.length > cap) {
    if (following) {
      rows = rows.slice(rows.length - cap)
      hasOlder = true
    } else {
      rows = rows.slice(0, cap)
      hasNewer = true
    }
  }
  return { ...state, rows, hasOlder, hasNewer }
}

/** What a send answered, added only when no event brought it first. */
export function withSent(state: ThreadState, message: Message): ThreadState {
  if (findSeq(state.rows, message.seq) >= 0 || state.hasNewer) return state
  return withMessages(state, [message], true)
}

export function withoutSeq(state: ThreadState, seq: number): ThreadState {
  const i = findSeq(state.rows, seq)
  if (i < 0) return state
  const rows = state.rows.slice()
  rows.splice(i, 1)
  return { ...state, rows }
}

/** The newest received message shown: what opening the thread has read up to. */
export function newestInbound(rows: readonly Message[]): number {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.direction === 'in') return rows[i]!.seq
  return 0
}

/** When a message was written (ours) or arrived (theirs: the sender's clock is not trusted). */
export const messageTime = (m: Message): number => Date.parse(m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt)
