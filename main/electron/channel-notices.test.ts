import { describe, expect, it } from 'vitest'
import type { Channel } from '../../shared/contract/index.js'
import { ChannelNoticeTracker, channelNotice } from './channel-notices.js'
import { noticeFor } from './notifications.js'

const PEER = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
const channel = (over: Partial<Channel> = {}): Channel => ({
  id: 'a'.repeat(32),
  peerId: PEER,
  role: 'payee',
  state: 'open',
  capacitySats: 50_000,
  paidSats: 0,
  seq: 0,
  expiry: 300,
  settlementFeeSats: 20,
  fundingTxid: null,
  step: null,
  failure: null,
  problem: null,
  fundingConfirmations: null,
  requiredConfirmations: null,
  settlementTxid: null,
  refundTxid: null,
  createdAt: new Date(0).toISOString(),
  updatedAt: new Date(0).toISOString(),
  archivedAt: null,
  ...over,
})

describe('channel notices', () => {
  it('tells a payee of a proposal, the opening, each payment received and the settlement; repeats say nothing', () => {
    const t = new ChannelNoticeTracker()
    expect(t.observe(channel({ state: 'proposed' }))).toEqual({ title: 'Channel proposed', body: expect.stringContaining('wants to open a channel of 50,000 sats') })
    expect(t.observe(channel({ state: 'proposed' }))).toBeNull()
    expect(t.observe(channel({ state: 'funding' }))).toBeNull()
    expect(t.observe(channel({ state: 'open' }))).toEqual({ title: 'Channel open', body: '12D3KooWSU…P2WskZ opened a 50,000 sats channel to pay you.' })
    expect(t.observe(channel({ state: 'open' }))).toBeNull()
    expect(t.observe(channel({ paidSats: 1200, seq: 1 }))).toEqual({ title: 'Received 1,200 sats', body: expect.stringContaining('1,200 sats of 50,000 sats paid so far') })
    expect(t.observe(channel({ paidSats: 1201, seq: 2 }))!.title).toBe('Received 1 sat')
    // A late event with an older amount is not a payment, and the next one counts from the highest.
    expect(t.observe(channel({ paidSats: 1200, seq: 1 }))).toBeNull()
    expect(t.observe(channel({ paidSats: 1300, seq: 3 }))!.title).toBe('Received 99 sats')
    expect(t.observe(channel({ state: 'closing', paidSats: 1300, seq: 3 }))).toBeNull()
    expect(t.observe(channel({ state: 'closed', paidSats: 1300, seq: 3 }))).toEqual({ title: 'Channel closed', body: 'The channel with 12D3KooWSU…P2WskZ is settled: 1,300 sats received.' })
  })

  it('tells a payer of the opening, a refusal and a failure, never of its own payments', () => {
    const payer = (over: Partial<Channel>): Channel => channel({ role: 'payer', ...over })
    const t = new ChannelNoticeTracker()
    expect(t.observe(payer({ state: 'proposed' }))).toBeNull()
    expect(t.observe(payer({ state: 'open' }))!.body).toBe('Your 50,000 sats channel to 12D3KooWSU…P2WskZ is open.')
    expect(t.observe(payer({ paidSats: 10, seq: 1 }))).toBeNull()
    expect(t.observe(payer({ state: 'refunded', paidSats: 10, seq: 1 }))!.title).toBe('Channel refunded')
    const other = (over: Partial<Channel>): Channel => payer({ id: 'b'.repeat(32), ...over })
    expect(t.observe(other({ state: 'proposed' }))).toBeNull()
    expect(t.observe(other({ state: 'rejected' }))!.title).toBe('Channel rejected')
    expect(channelNotice({ state: 'proposed', paidSats: 0 }, other({ state: 'failed' }))!.title).toBe('Channel failed')
  })

  it('tells once when a problem appears, and that a payee lost what a vanished funding carried', () => {
    const t = new ChannelNoticeTracker()
    expect(t.observe(channel({ paidSats: 500, seq: 4 }))).not.toBeNull()
    const problem = { code: 'settle-failing' as const, message: 'settling before expiry failed 1 time (fee too low); retrying', since: new Date(0).toISOString() }
    expect(t.observe(channel({ paidSats: 500, seq: 4, problem }))).toEqual({ title: 'A channel needs your attention', body: `Channel with 12D3KooWSU…P2WskZ: ${problem.message}` })
    expect(t.observe(channel({ paidSats: 500, seq: 4, problem }))).toBeNull()
    expect(t.observe(channel({ paidSats: 500, seq: 4, state: 'failed', failure: 'funding-lost' }))!.title).toBe('Channel funding lost')
  })

  it('seeds existing channels so their next event is judged against what was there; events win over a late seed', () => {
    const t = new ChannelNoticeTracker()
    t.seed([channel({ paidSats: 500, seq: 4 })])
    expect(t.observe(channel({ paidSats: 500, seq: 4 }))).toBeNull()
    expect(t.observe(channel({ paidSats: 700, seq: 5 }))!.title).toBe('Received 200 sats')
    t.seed([channel({ paidSats: 500, seq: 4 })])
    expect(t.observe(channel({ paidSats: 700, seq: 5 }))).toBeNull()
  })

  it('routes channel events through the tracker, and says nothing without one', () => {
    const t = new ChannelNoticeTracker()
    expect(noticeFor('channels', channel({ state: 'proposed' }))).toBeNull()
    expect(noticeFor('channels', channel({ state: 'proposed' }), t)!.title).toBe('Channel proposed')
  })
})
