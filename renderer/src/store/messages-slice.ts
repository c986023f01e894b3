import type { Conversation, Message, Unread } from '../../../shared/contract/index.js'
import { defineDomain } from './domain.js'

/** How many conversations the list loads (the most recent). */
export const CONVERSATIONS_SHOWN = 200

export interface MessagesSlice {
  /** One per peer, the most recent first. */
  conversations: Conversation[]
  /** Unread received messages, kept by the engine (the tray shows the same). */
  unread: Unread
  /** Grows when the transport left messages out (`resync`): what shows messages reloads. */
  messagesResync: number
}

const recentFirst = (a: Conversation, b: Conversation): number => b.last.seq - a.last.seq

/**
 * The conversation list after one batch of message events: each peer's newest message
 * becomes its `last` (a status change of the last one replaces it in place), new seqs add
 * to its total, a new peer gets an entry. One pass over the batch and one over the list:
 * the cost is per batch, never per message times the list.
 */
export function applyMessageBatch(list: Conversation[], messages: readonly Message[]): Conversation[] {
  if (messages.length === 0) return list
  const byPeer = new Map<string, Conversation>()
  for (const c of list) byPeer.set(c.peerId, c)
  const seen = new Set<number>()
  let changed = false
  for (const m of messages) {
    const held = byPeer.get(m.peerId)
    if (!held) {
      byPeer.set(m.peerId, { peerId: m.peerId, last: m, unread: 0, total: 1 })
      seen.add(m.seq)
      changed = true
      continue
    }
    if (m.seq > held.last.seq) {
      byPeer.set(m.peerId, { ...held, last: m, total: held.total + (seen.has(m.seq) ? 0 : 1) })
      seen.add(m.seq)
      changed = true
    } else if (m.seq === held.last.seq && m !== held.last) {
      byPeer.set(m.peerId, { ...held, last: m })
      changed = true
    }
  }
  return changed ? [...byPeer.values()].sort(recentFirst) : list
}

/** The unread counts laid over the list (a peer without an entry in byPeer has none). */
export function applyUnread(list: Conversation[], unread: Unread): Conversation[] {
  let changed = false
  const next = list.map((c) => {
    const n = unread.byPeer[c.peerId] ?? 0
    if (n === c.unread) return c
    changed = true
    return { ...c, unread: n }
  })
  return changed ? next : list
}

/** A snapshot that events overtook: per peer the newer last message wins. */
export function mergeConversations(snapshot: Conversation[], current: Conversation[]): Conversation[] {
  const byPeer = new Map(snapshot.map((c) => [c.peerId, c]))
  for (const c of current) {
    const s = byPeer.get(c.peerId)
    if (!s || c.last.seq > s.last.seq) byPeer.set(c.peerId, s ? { ...c, unread: s.unread, total: Math.max(s.total, c.total) } : c)
  }
  return [...byPeer.values()].sort(recentFirst)
}

const NO_UNREAD: Unread = { total: 0, byPeer: {} }

export const messagesDomain = defineDomain<MessagesSlice>({
  name: 'messages',
  initial: { conversations: [], unread: NO_UNREAD, messagesResync: 0 },
  load: async (api) => {
    const [conversations, unread] = await Promise.all([api.listConversations({ limit: CONVERSATIONS_SHOWN }), api.getUnread()])
    return { conversations: applyUnread(conversations, unread), unread }
  },
  events: {
    messages: (batch, state) => ({
      conversations: applyMessageBatch(state.conversations, batch.messages),
      ...(batch.resync ? { messagesResync: state.messagesResync + 1 } : {}),
    }),
    unread: (unread, state) => ({ unread, conversations: applyUnread(state.conversations, unread) }),
    // The deleted one may have been a conversation's last: the list is reloaded then.
    messageDeleted: (deleted, state) => (state.conversations.some((c) => c.last.seq === deleted.seq) ? { messagesResync: state.messagesResync + 1 } : {}),
  },
  merge: (snapshot, state) => {
    const unread = snapshot.unread ?? state.unread
    return { conversations: applyUnread(mergeConversations(snapshot.conversations ?? [], state.conversations), unread), unread }
  },
})
