import { describe, expect, it } from 'vitest'
import type { Conversation, Message } from '../../../shared/contract/index.js'
import { applyMessageBatch, applyUnread, mergeConversations, messagesDomain } from './messages-slice.js'

const msg = (seq: number, peerId: string, over: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  seq,
  peerId,
  direction: 'in',
  text: `text ${seq}`,
  sentAt: new Date(seq * 1000).toISOString(),
  receivedAt: new Date(seq * 1000).toISOString(),
  status: 'received',
  ...over,
})
const conv = (peerId: string, last: number, unread = 0, total = 1): Conversation => ({ peerId, last: msg(last, peerId), unread, total })

describe('messages slice', () => {
  it('moves a conversation with news to the top and counts new messages once', () => {
    const list = [conv('a', 5, 1, 3), conv('b', 2)]
    const next = applyMessageBatch(list, [msg(7, 'b'), msg(8, 'b'), msg(8, 'b', { text: 'edited view' }), msg(9, 'c')])
    expect(next.map((c) => [c.peerId, c.last.seq, c.total])).toEqual([
      ['c', 9, 1],
      ['b', 8, 3],
      ['a', 5, 3],
    ])
    expect(next[1]!.last.text).toBe('edited view')
  })

  it('replaces the last message on a status change and ignores older ones', () => {
    const pending = msg(5, 'a', { direction: 'out', status: 'pending' })
    const list = [{ peerId: 'a', last: pending, unread: 0, total: 2 }]
    const delivered = applyMessageBatch(list, [{ ...pending, status: 'delivered' }])
    expect(delivered[0]).toMatchObject({ total: 2, last: { status: 'delivered' } })
    expect(applyMessageBatch(list, [msg(3, 'a')])).toBe(list)
    expect(applyMessageBatch(list, [])).toBe(list)
  })

  it('lays unread counts over the list', () => {
    const list = [conv('a', 5, 2), conv('b', 2)]
    const next = applyUnread(list, { total: 4, byPeer: { b: 4 } })
    expect(next.map((c) => c.unread)).toEqual([0, 4])
    expect(applyUnread(next, { total: 4, byPeer: { b: 4 } })).toBe(next)
  })

  it('merges a snapshot overtaken by events: the newer last message wins', () => {
    const merged = mergeConversations([conv('a', 5, 1, 3), conv('b', 2, 0, 1)], [conv('b', 9, 0, 2)])
    expect(merged.map((c) => [c.peerId, c.last.seq, c.total])).toEqual([
      ['b', 9, 2],
      ['a', 5, 3],
    ])
  })

  it('follows the events: batches, resync and unread', () => {
    const state = { conversations: [conv('a', 5)], unread: { total: 0, byPeer: {} }, messagesResync: 0 }
    const batch = messagesDomain.events.messages!({ messages: [msg(6, 'a')], resync: true }, state)
    expect(batch.messagesResync).toBe(1)
    expect(batch.conversations![0]!.last.seq).toBe(6)
    const unread = messagesDomain.events.unread!({ total: 1, byPeer: { a: 1 } }, state)
    expect(unread.conversations![0]!.unread).toBe(1)
    expect(messagesDomain.events.messageDeleted!({ seq: 5, peerId: 'a', id: 'm5' }, state)).toEqual({ messagesResync: 1 })
    expect(messagesDomain.events.messageDeleted!({ seq: 4, peerId: 'a', id: 'm4' }, state)).toEqual({})
  })
})
