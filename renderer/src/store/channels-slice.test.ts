import { describe, expect, it } from 'vitest'
import type { Channel } from '../../../shared/contract/index.js'
import { channelsDomain, mergeChannels, upsertChannel } from './channels-slice.js'

const at = (ms: number): string => new Date(Date.UTC(2026, 0, 1) + ms).toISOString()
const channel = (n: number, over: Partial<Channel> = {}): Channel => ({
  id: n.toString(16).padStart(32, '0'),
  peerId: '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ',
  role: 'payer',
  state: 'open',
  capacitySats: 10_000,
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
  createdAt: at(n * 1000),
  updatedAt: at(n * 1000),
  archivedAt: null,
  ...over,
})

describe('channels slice', () => {
  it('adds a new channel in newest-first order and replaces a known one in place', () => {
    let list: Channel[] = []
    list = upsertChannel(list, channel(1))
    list = upsertChannel(list, channel(3))
    list = upsertChannel(list, channel(2))
    expect(list.map((c) => c.createdAt)).toEqual([at(3000), at(2000), at(1000)])
    const paid = channel(2, { seq: 1, paidSats: 5 })
    list = upsertChannel(list, paid)
    expect(list).toHaveLength(3)
    expect(list[1]).toBe(paid)
  })

  it('keeps the later view: a payment that did not bump updatedAt still wins by seq; an older event is ignored', () => {
    const second = channel(1, { seq: 2, paidSats: 9 })
    let list = upsertChannel([channel(1)], second)
    const stale = channel(1, { seq: 1, paidSats: 4 })
    expect(upsertChannel(list, stale)).toBe(list)
    const closing = channel(1, { seq: 2, paidSats: 9, state: 'closing', updatedAt: at(5000) })
    list = upsertChannel(list, closing)
    expect(list[0]!.state).toBe('closing')
    // The same time and seq with another state (a change in the same millisecond) replaces.
    const closed = { ...closing, state: 'closed' as const }
    expect(upsertChannel(list, closed)[0]!.state).toBe('closed')
  })

  it('merges an overtaken snapshot per channel by the later view', () => {
    const fromEvent = channel(2, { seq: 3, paidSats: 30, updatedAt: at(9000) })
    const snapshot = [channel(2, { seq: 1, paidSats: 10 }), channel(1)]
    const merged = mergeChannels(snapshot, [fromEvent, channel(4)])
    expect(merged.map((c) => c.id.slice(-1))).toEqual(['4', '2', '1'])
    expect(merged[1]).toBe(fromEvent)
    // A snapshot newer than what the events left wins.
    const newer = channel(2, { seq: 4, paidSats: 40, updatedAt: at(9500) })
    expect(mergeChannels([newer], [fromEvent])[0]).toBe(newer)
  })

  it('applies events through the domain with the current state', () => {
    const apply = channelsDomain.events.channels!
    const state = { channels: [channel(1)] }
    expect(apply(channel(2), state).channels!.map((c) => c.id.slice(-1))).toEqual(['2', '1'])
    expect(channelsDomain.merge!({ channels: [channel(1)] }, { channels: [] }).channels).toHaveLength(1)
  })
})
