import { describe, expect, it } from 'vitest'
import { type Channel, ContractError } from '../../shared/contract/index.js'
import { CHANNEL_FAILURE_TEXT, EXAMPLE_PEER_ID, blocksUntil, channelBreakdown, isArchivable, channelAnnouncement, channelProgress, closeFailureHint, hoursFromNow, isCancellable, openOutcome, parseSats, payeeAwayCloseText, peerIdProblem, refundWait, remainingSats } from './channel-text.js'
import { formatSats } from './human.js'

const channel = (over: Partial<Channel> = {}): Channel => ({
  id: 'c'.repeat(32),
  peerId: EXAMPLE_PEER_ID,
  role: 'payer',
  state: 'open',
  capacitySats: 10_000,
  paidSats: 2_500,
  seq: 3,
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

describe('channel text', () => {
  it('accepts a peer id and explains every other input', () => {
    const real = '12D3KooWJbQnRkY3Lh3SmwS3EhF9SZ7mRDC2f2XvC3nTqpCtpQm2'
    expect(peerIdProblem(` ${real} `)).toBeNull()
    expect(peerIdProblem('')).toMatch(/Choose a peer/)
    expect(peerIdProblem(`/ip4/127.0.0.1/tcp/1/p2p/${EXAMPLE_PEER_ID}`)).toMatch(/part after \/p2p\//)
    expect(peerIdProblem('not-a-peer-id')).toMatch(/not a peer ID/)
    expect(peerIdProblem(EXAMPLE_PEER_ID.slice(0, -1))).toMatch(/not a peer ID/)
    expect(peerIdProblem(`${EXAMPLE_PEER_ID.slice(0, -1)}0`)).toMatch(/not a peer ID/)
    expect(peerIdProblem(EXAMPLE_PEER_ID, EXAMPLE_PEER_ID)).toMatch(/your own node/)
  })

  it('reads whole satoshis within bounds, with grouping, and says why not', () => {
    expect(parseSats('25 000', { min: 1000, what: 'capacity' })).toEqual({ sats: 25_000, problem: null })
    expect(parseSats('1,000', { min: 1000, max: 1000, what: 'capacity' }).sats).toBe(1000)
    expect(parseSats('', { min: 1, what: 'amount' }).problem).toBe('Enter the amount in satoshis.')
    expect(parseSats('1.5', { min: 1, what: 'amount' }).problem).toMatch(/whole number/)
    expect(parseSats('-3', { min: 1, what: 'amount' }).problem).toMatch(/whole number/)
    expect(parseSats('999', { min: 1000, what: 'capacity' }).problem).toBe('The capacity must be at least 1\u2009000 sats.')
    expect(parseSats('9'.repeat(20), { min: 1, what: 'amount' }).problem).toMatch(/far too large/)
    expect(parseSats('501', { min: 1, max: 500, what: 'amount' }).problem).toBe('The amount can be at most 500 sats.')
    expect(parseSats('501', { min: 1, max: 500, what: 'amount', maxWhy: (m) => `only ${m}` }).problem).toBe('only 500')
  })

  it('computes what is left and the expiry countdown', () => {
    expect(remainingSats(channel())).toBe(7_480)
    expect(remainingSats(channel({ paidSats: 9_990 }))).toBe(0)
    expect(blocksUntil(300, 288)).toEqual({ blocks: 12, text: 'in 12 blocks (about 2 h)' })
    expect(blocksUntil(300, 299)!.text).toBe('in 1 block (about 10 min)')
    expect(blocksUntil(300, 305)).toEqual({ blocks: 0, text: 'now' })
    expect(blocksUntil(300, null)).toBeNull()
  })

  it('lets a payer cancel only while none of its coins can be on chain', () => {
    expect(isCancellable(channel({ state: 'proposed' }))).toBe(true)
    expect(isCancellable(channel({ state: 'funding', step: 'built' }))).toBe(true)
    expect(isCancellable(channel({ state: 'funding', step: 'refund-signed' }))).toBe(false)
    expect(isCancellable(channel({ state: 'funding', step: 'broadcast' }))).toBe(false)
    expect(isCancellable(channel({ state: 'proposed', role: 'payee' }))).toBe(false)
  })

  it('says why each failure happened and that no coins moved', () => {
    for (const text of Object.values(CHANNEL_FAILURE_TEXT)) expect(text).toMatch(/\.$/)
    expect(CHANNEL_FAILURE_TEXT['funding-mismatch']).toMatch(/does not pay this channel/)
  })

  it('describes each pending state, and nothing for settled ones', () => {
    expect(channelProgress(channel({ state: 'proposed', role: 'payee' }), 10)).toMatch(/Accept it/)
    expect(channelProgress(channel({ state: 'proposed' }), 10)).toMatch(/Waiting for the peer to accept/)
    expect(channelProgress(channel({ state: 'funding', step: 'refund-signed', fundingTxid: 'f'.repeat(64) }), 120)).toMatch(/chain at block 120/)
    expect(channelProgress(channel({ state: 'funding', step: 'broadcast', fundingTxid: 'f'.repeat(64), fundingConfirmations: 0, requiredConfirmations: 1 }), 288)).toBe(
      'Funding on chain. Waiting for the peer to open the channel (0 of 1 confirmation)… If it never does, the refund returns your coins at block 300, in 12 blocks (about 2 h).',
    )
    expect(channelProgress(channel({ state: 'funding', role: 'payee', step: 'refund-signed', fundingConfirmations: 2, requiredConfirmations: 6 }), 1)).toBe('Waiting for the payer’s funding to be confirmed (2 of 6 confirmations)…')
    expect(channelProgress(channel({ state: 'closing', settlementTxid: 'a'.repeat(64) }), 120)).toMatch(/Settlement sent/)
    expect(channelProgress(channel({ state: 'closing', paidSats: 0, seq: 0 }), 288)).toBe('Nothing was paid, so the refund returns the funds at block 300, in 12 blocks (about 2 h).')
    expect(channelProgress(channel({ state: 'closing' }), 288)).toMatch(/if it does not, the refund returns the unpaid coins at block 300/)
    expect(channelProgress(channel({ state: 'open' }), 1)).toBeNull()
    expect(channelProgress(channel({ state: 'closed' }), 1)).toBeNull()
  })

  it('tells a payer whose payee is away to close again later or wait for the refund', () => {
    expect(payeeAwayCloseText({ refundHeight: 1234, blocksLeft: 30, hoursLeft: 5 })).toBe(
      'The payee cannot be reached. Close again when they are back, or the coins come back to you by the refund from block 1,234 (about 5 hours from now).',
    )
    expect(payeeAwayCloseText({ refundHeight: 300, blocksLeft: 6, hoursLeft: 1.2 })).toMatch(/block 300 \(about 1 hour from now\)\.$/)
    expect(payeeAwayCloseText({ refundHeight: 300, blocksLeft: 3, hoursLeft: 0.5 })).toMatch(/\(less than an hour from now\)\.$/)
    // Without hours, they are reckoned from the blocks (ten minutes each): 15 blocks, 2.5 h.
    expect(payeeAwayCloseText({ refundHeight: 300, blocksLeft: 15, hoursLeft: null })).toMatch(/\(about 3 hours from now\)/)
    expect(payeeAwayCloseText({ refundHeight: 300, blocksLeft: 0, hoursLeft: 0 })).toBe(
      'The payee cannot be reached. Close again when they are back, or the coins come back to you by the refund from block 300: the refund can be broadcast now.',
    )
    expect(payeeAwayCloseText({ refundHeight: 300, blocksLeft: -4, hoursLeft: -0.7 })).toMatch(/can be broadcast now\.$/)
  })

  it('rounds the hours to a whole number, and to days beyond two', () => {
    expect(hoursFromNow(0)).toBe('less than an hour from now')
    expect(hoursFromNow(1)).toBe('about 1 hour from now')
    expect(hoursFromNow(1.49)).toBe('about 1 hour from now')
    expect(hoursFromNow(1.5)).toBe('about 2 hours from now')
    expect(hoursFromNow(47.4)).toBe('about 47 hours from now')
    expect(hoursFromNow(47.6)).toBe('about 2 days from now')
    expect(hoursFromNow(24 * 7 + 3)).toBe('about 7 days from now')
  })

  it('reads the refund details only from a close the payee could not answer', () => {
    const away = new ContractError('unavailable', 'the payee cannot be reached', { refundHeight: 500, blocksLeft: 12, hoursLeft: 2 })
    expect(refundWait(away)).toEqual({ refundHeight: 500, blocksLeft: 12, hoursLeft: 2 })
    expect(closeFailureHint(away)).toMatch(/from block 500 \(about 2 hours from now\)/)
    expect(refundWait(new ContractError('unavailable', 'x', { refundHeight: 500, blocksLeft: 12 }))).toEqual({ refundHeight: 500, blocksLeft: 12, hoursLeft: null })
    expect(closeFailureHint(new ContractError('unavailable', 'the wallet service is away'))).toBeNull()
    expect(closeFailureHint(new ContractError('unavailable', 'x', { refundHeight: '500', blocksLeft: 12 }))).toBeNull()
    expect(closeFailureHint(new ContractError('timeout', 'x', { refundHeight: 500, blocksLeft: 12, hoursLeft: 2 }))).toBeNull()
    expect(closeFailureHint(new Error('boom'))).toBeNull()
  })
})

describe('the line under Open', () => {
  it('follows the channel it made, and goes once that channel is no longer open or proposed', () => {
    expect(openOutcome('12D3KooW…abc', 'open', 'open')).toBe('Channel to 12D3KooW…abc is open.')
    expect(openOutcome('bob', 'proposed', 'proposed')).toBe('Proposed to bob. It opens once they accept.')
    // Accepted since: the proposal line would be stale.
    expect(openOutcome('bob', 'proposed', 'open')).toBe('Channel to bob is open.')
    expect(openOutcome('bob', 'funding', 'funding')).toBe('Channel to bob is funding.')
    for (const now of ['closing', 'closed', 'refunded', 'failed', 'rejected'] as const) expect(openOutcome('bob', 'open', now)).toBeNull()
  })
})

describe('the channel list’s live region', () => {
  const row = (id: string, over: Partial<Channel>): Channel => channel({ id, ...over })
  it('announces only what changed, never the first snapshot', () => {
    const peerOf = (c: Channel): string => (c.peerId === 'p' ? 'bob' : c.peerId)
    const first = channelAnnouncement(new Map(), [row('a'.repeat(32), { state: 'open', peerId: 'p', role: 'payer', paidSats: 0 })], peerOf)
    expect(first.text).toBeNull()
    const same = channelAnnouncement(first.summaries, [row('a'.repeat(32), { state: 'open', peerId: 'p', role: 'payer', paidSats: 0 })], peerOf)
    expect(same.text).toBeNull()
    const paid = channelAnnouncement(same.summaries, [row('a'.repeat(32), { state: 'open', peerId: 'p', role: 'payer', paidSats: 1_500 })], peerOf)
    expect(paid.text).toBe(`You pay bob: open, ${formatSats(1_500)} paid.`)
    const more = channelAnnouncement(paid.summaries, [row('a'.repeat(32), { state: 'closing', peerId: 'p', role: 'payer', paidSats: 1_500 }), row('b'.repeat(32), { state: 'proposed', peerId: 'p', role: 'payee', paidSats: 0 })], peerOf)
    expect(more.text).toBe(`You pay bob: closing, ${formatSats(1_500)} paid. bob pays you: proposed, ${formatSats(0)} received.`)
  })

  it('splits the capacity into paid, settlement fee and what is left, adding up', () => {
    const open = channelBreakdown(channel({ capacitySats: 10_000, paidSats: 2_000, settlementFeeSats: 520 }))
    expect(open).toMatchObject({ capacitySats: 10_000, paidSats: 2_000, feeSats: 520, leftSats: 7_480 })
    expect(open.paidSats + open.feeSats + open.leftSats).toBe(open.capacitySats)
    expect(open.text).toBe(`${formatSats(10_000)} capacity = ${formatSats(2_000)} paid + ${formatSats(520)} settlement fee + ${formatSats(7_480)} left to pay`)
    const payee = channelBreakdown(channel({ role: 'payee', state: 'closed', capacitySats: 10_000, paidSats: 9_480, settlementFeeSats: 520 }))
    expect(payee.text).toBe(`${formatSats(10_000)} capacity = ${formatSats(9_480)} received + ${formatSats(520)} settlement fee + ${formatSats(0)} back to the payer`)
    expect(payee.paidSats + payee.feeSats + payee.leftSats).toBe(10_000)
    // A channel too small for its fee: what is shown still adds up.
    const tiny = channelBreakdown(channel({ capacitySats: 300, paidSats: 0, settlementFeeSats: 520 }))
    expect(tiny.paidSats + tiny.feeSats + tiny.leftSats).toBe(300)
  })

  it('offers archiving for ended channels not yet archived, and refuses the example peer id', () => {
    expect(isArchivable(channel({ state: 'failed' }))).toBe(true)
    expect(isArchivable(channel({ state: 'closed' }))).toBe(true)
    expect(isArchivable(channel({ state: 'open' }))).toBe(false)
    expect(isArchivable(channel({ state: 'closing' }))).toBe(false)
    expect(isArchivable(channel({ state: 'closed', archivedAt: new Date(0).toISOString() }))).toBe(false)
    expect(peerIdProblem(EXAMPLE_PEER_ID)).toMatch(/example/)
    expect(peerIdProblem(` ${EXAMPLE_PEER_ID} `)).toMatch(/example/)
  })
})
