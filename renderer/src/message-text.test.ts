import { describe, expect, it } from 'vitest'
import { outboundStatusText, sendResultText, sentMessage } from './message-text.js'

const PEER = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'

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
