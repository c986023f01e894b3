import type { Message } from '../../shared/contract/index.js'

/** The thread asks for this many of the newest messages when it opens. */
export const THREAD_PAGE = 100

/**
 * Where an outbound message stands, in words. A pending one is "Sending…" while the peer
 * is connected (it is on its way) and waits for the peer otherwise.
 */
export function outboundStatusText(status: Message['status'], peerConnected: boolean): string {
  switch (status) {
    case 'pending':
      return peerConnected ? 'Sending…' : 'Waiting for the peer — it is sent when they are back'
    case 'delivered':
      return 'Delivered'
    case 'failed':
      return 'Not delivered'
    case 'received':
      return 'Received'
  }
}

/** What a send answered: both are success; `pending` only means later. */
export function sendResultText(status: 'delivered' | 'pending'): string {
  return status === 'delivered' ? 'Delivered: the peer has stored your message.' : 'Kept: it will be delivered when the peer is reachable.'
}

/**
 * One change to a conversation. `upsert`: a message event or a retry's answer. `sent`: what
 * a send answered, added only when no event brought it first. `delete`: a deleted message.
 */
export type ThreadChange = { kind: 'upsert'; message: Message } | { kind: 'sent'; message: Message } | { kind: 'delete'; seq: number }

// A delivered or received message never changes again: a late copy from before cannot undo it.
const FINAL = new Set<Message['status']>(['delivered', 'received'])

/** The thread (oldest first, by seq) after one change; the same array when nothing changed. */
export function applyThreadChange(list: Message[], change: ThreadChange): Message[] {
  if (change.kind === 'delete') {
    const next = list.filter((m) => m.seq !== change.seq)
    return next.length === list.length ? list : next
  }
  const m = change.message
  const i = list.findIndex((x) => x.seq === m.seq)
  if (i >= 0) {
    const held = list[i]!
    if (change.kind === 'sent' || (FINAL.has(held.status) && !FINAL.has(m.status))) return list
    const next = list.slice()
    next[i] = m
    return next
  }
  return [...list, m].sort((a, b) => a.seq - b.seq)
}

/**
 * A loaded page (newest first, as listMessages answers) with the changes that came while it
 * loaded laid over it: the thread oldest first, as it is shown.
 */
export function mergeThread(page: Message[], changes: ThreadChange[]): Message[] {
  let list = page.slice().sort((a, b) => a.seq - b.seq)
  for (const change of changes) list = applyThreadChange(list, change)
  return list
}

/** The message a send answered, as the thread shows it until its own event arrives. */
export function sentMessage(result: { id: string; seq: number; status: 'delivered' | 'pending' }, peerId: string, text: string, now: number = Date.now()): Message {
  const at = new Date(now).toISOString()
  return { id: result.id, seq: result.seq, peerId, direction: 'out', text, sentAt: at, receivedAt: result.status === 'delivered' ? at : null, status: result.status }
}
