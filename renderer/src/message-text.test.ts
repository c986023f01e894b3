import { describe, expect, it } from 'vitest'
import type { Message } from '../../shared/contract/index.js'
import { applyThreadChange, mergeThread, outboundStatusText, sendResultText, sentMessage } from './message-text.js'

const PEER = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const msg = (seq: number, over: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  seq,
  peerId: PEER,
  direction: 'out',
  text: `text ${seq}`,
  sentAt: new Date(seq * 1000).toISOString(),
  receivedAt: null,
  status: 'pending',
  ...over,
})

describe('message text', () => {
  it('says where an outbound message stands', () => {
    expect(outboundStatusText('pending', false)).toBe('Waiting for the peer — it is sent when they are back')
    expect(outboundStatusText('pending', true)).toBe('Sending…')
    expect(outboundStatusText('delivered', false)).toBe('Delivered')
    expect(outboundStatusText('failed', true)).toBe('Not delivered')
    expect(outboundStatusText('received', true)).toBe('Received')
  })

  it('treats a pending send as kept, not as a failure', () => {
    expect(sendResultText('pending')).toBe('Kept: it will be delivered when the peer is reachable.')
    expect(sendResultText('delivered')).toMatch(/^Delivered/)
  })

  it('builds the sent message from the answer', () => {
    const now = Date.UTC(2026, 0, 1)
    expect(sentMessage({ id: 'a', seq: 7, status: 'pending' }, PEER, 'hi', now)).toEqual({
      id: 'a', seq: 7, peerId: PEER, direction: 'out', text: 'hi', sentAt: new Date(now).toISOString(), receivedAt: null, status: 'pending',
    })
    expect(sentMessage({ id: 'a', seq: 7, status: 'delivered' }, PEER, 'hi', now).receivedAt).toBe(new Date(now).toISOString())
  })
})

describe('conversation thread', () => {
  it('shows a page oldest first and lays the changes that came while it loaded over it', () => {
    const page = [msg(5), msg(3, { direction: 'in', status: 'received' }), msg(1, { status: 'delivered' })]
    const delivered = msg(5, { status: 'delivered' })
    const merged = mergeThread(page, [{ kind: 'upsert', message: delivered }, { kind: 'upsert', message: msg(6) }, { kind: 'delete', seq: 1 }])
    expect(merged.map((m) => [m.seq, m.status])).toEqual([
      [3, 'received'],
      [5, 'delivered'],
      [6, 'pending'],
    ])
    expect(merged[1]).toBe(delivered)
  })

  it('upserts by seq, in order, and deletes', () => {
    let list = [msg(1), msg(4)]
    list = applyThreadChange(list, { kind: 'upsert', message: msg(2) })
    expect(list.map((m) => m.seq)).toEqual([1, 2, 4])
    list = applyThreadChange(list, { kind: 'upsert', message: msg(2, { status: 'failed' }) })
    expect(list[1]!.status).toBe('failed')
    // A retried message becomes pending again.
    list = applyThreadChange(list, { kind: 'upsert', message: msg(2, { status: 'pending' }) })
    expect(list[1]!.status).toBe('pending')
    list = applyThreadChange(list, { kind: 'delete', seq: 2 })
    expect(list.map((m) => m.seq)).toEqual([1, 4])
    expect(applyThreadChange(list, { kind: 'delete', seq: 99 })).toBe(list)
  })

  it('never lets a late copy undo a delivery, nor a send answer overwrite its event', () => {
    const list = [msg(1, { status: 'delivered' })]
    expect(applyThreadChange(list, { kind: 'upsert', message: msg(1, { status: 'pending' }) })).toBe(list)
    expect(applyThreadChange(list, { kind: 'sent', message: msg(1, { status: 'pending' }) })).toBe(list)
    const pending = [msg(2)]
    expect(applyThreadChange(pending, { kind: 'sent', message: msg(2, { text: 'other' }) })).toBe(pending)
    expect(applyThreadChange([], { kind: 'sent', message: msg(2) })).toEqual([msg(2)])
  })
})
