import { describe, expect, it } from 'vitest'
import type { Channel } from '../../shared/contract/index.js'
import { ChannelNoticeTracker } from './channel-notices.js'
import { noticeFor, peerNamer } from './notifications.js'

const PEER = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const OTHER = '12D3KooWA8EXV3KjBxEU5EnsPfneLx84vMWAtTBQBeyooN82KSuS'

describe('notices name peers as the user knows them', () => {
  const names = new Map([[PEER, 'Bob’s shop']])
  const name = peerNamer((id) => names.get(id))

  it('uses the looked-up name, else the short id', () => {
    const message = { id: 'm1', seq: 1, peerId: PEER, direction: 'in' as const, text: 'hi', sentAt: '', receivedAt: '', status: 'received' as const }
    expect(noticeFor('message', message, undefined, name)?.title).toBe('Message from Bob’s shop')
    expect(noticeFor('message', { ...message, peerId: OTHER }, undefined, name)?.title).toBe('Message from 12D3KooWA8…82KSuS')
  })

  it('names the peer in channel notices', () => {
    const t = new ChannelNoticeTracker(name)
    const open = { id: 'a'.repeat(32), peerId: PEER, role: 'payer', state: 'open', capacitySats: 1000, paidSats: 0 } as Channel
    expect(t.observe(open)?.body).toBe('Your 1,000 sats channel to Bob’s shop is open.')
  })

  it('falls back to the short id when the lookup throws (the engine is restarting)', () => {
    const broken = peerNamer(() => {
      throw new Error('the store is not open')
    })
    expect(broken(PEER)).toBe('12D3KooWSU…P2WskZ')
  })
})
