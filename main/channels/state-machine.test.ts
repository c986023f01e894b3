import { describe, expect, it } from 'vitest'
import {
  CHANNEL_EVENTS, CHANNEL_STATUSES, type ChannelEvent, type ChannelStatus, IllegalTransitionError, canTransition, holdsFunds, isTerminal,
  transition, validatePayment,
} from './state-machine.js'

// Written out by hand, independently of the table in state-machine.ts.
const LEGAL: Array<[ChannelStatus, ChannelEvent, ChannelStatus]> = [
  ['proposed', 'accept', 'funding'],
  ['proposed', 'reject', 'rejected'],
  ['proposed', 'fail', 'failed'],
  ['funding', 'open', 'open'],
  ['funding', 'fail', 'failed'],
  ['funding', 'fundingLost', 'failed'],
  ['funding', 'refundBroadcast', 'closing'],
  ['funding', 'refundConfirmed', 'refunded'],
  ['open', 'closeRequested', 'closing'],
  ['open', 'settlementBroadcast', 'closing'],
  ['open', 'refundBroadcast', 'closing'],
  ['open', 'settlementConfirmed', 'closed'],
  ['open', 'refundConfirmed', 'refunded'],
  ['open', 'fundingLost', 'failed'],
  ['closing', 'closeRequested', 'closing'],
  ['closing', 'settlementBroadcast', 'closing'],
  ['closing', 'refundBroadcast', 'closing'],
  ['closing', 'settlementConfirmed', 'closed'],
  ['closing', 'refundConfirmed', 'refunded'],
  ['closing', 'fundingLost', 'failed'],
]

describe('channel transitions', () => {
  it.each(LEGAL)('%s --%s--> %s', (from, event, to) => {
    expect(canTransition(from, event)).toBe(true)
    expect(transition(from, event)).toBe(to)
  })

  it('refuses every other (status, event) pair with a typed error', () => {
    const legal = new Set(LEGAL.map(([f, e]) => `${f}:${e}`))
    let illegal = 0
    for (const from of CHANNEL_STATUSES) {
      for (const event of CHANNEL_EVENTS) {
        if (legal.has(`${from}:${event}`)) continue
        illegal++
        expect(canTransition(from, event)).toBe(false)
        let caught: unknown
        try {
          transition(from, event)
        } catch (err) {
          caught = err
        }
        expect(caught).toBeInstanceOf(IllegalTransitionError)
        expect((caught as IllegalTransitionError).from).toBe(from)
        expect((caught as IllegalTransitionError).event).toBe(event)
        expect((caught as Error).name).toBe('IllegalTransitionError')
      }
    }
    expect(illegal).toBe(CHANNEL_STATUSES.length * CHANNEL_EVENTS.length - LEGAL.length)
  })

  it('never fails a channel whose funding may be on chain, except when the funding can never be mined', () => {
    expect(() => transition('open', 'fail')).toThrow(IllegalTransitionError)
    expect(() => transition('closing', 'fail')).toThrow(IllegalTransitionError)
    expect(transition('open', 'fundingLost')).toBe('failed')
    expect(() => transition('proposed', 'open')).toThrow(IllegalTransitionError)
    expect(() => transition('closed', 'refundBroadcast')).toThrow(IllegalTransitionError)
  })

  it('knows its terminal and fund-holding statuses', () => {
    expect(CHANNEL_STATUSES.filter(isTerminal)).toEqual(['closed', 'refunded', 'failed', 'rejected'])
    expect(CHANNEL_STATUSES.filter(holdsFunds)).toEqual(['open', 'closing'])
  })

  it('a happy life, a refunded life and a never-opened life run end to end', () => {
    const run = (events: ChannelEvent[]): ChannelStatus => events.reduce<ChannelStatus>((s, e) => transition(s, e), 'proposed')
    expect(run(['accept', 'open', 'closeRequested', 'settlementBroadcast', 'settlementConfirmed'])).toBe('closed')
    expect(run(['accept', 'open', 'refundBroadcast', 'refundConfirmed'])).toBe('refunded')
    expect(run(['accept', 'refundBroadcast', 'refundConfirmed'])).toBe('refunded')
  })
})

describe('validatePayment', () => {
  const base = { capacity: 100_000, paidSats: 1_000, newPaidSats: 1_500, seq: 3, newSeq: 4, feeSats: 27 }

  it('accepts a growing, in-sequence amount within capacity minus fee', () => {
    expect(validatePayment(base)).toEqual({ ok: true, amountSats: 500 })
    expect(validatePayment({ ...base, newPaidSats: 100_000 - 27 })).toEqual({ ok: true, amountSats: 100_000 - 27 - 1_000 })
    expect(validatePayment({ ...base, paidSats: 0, seq: 0, newSeq: 1, newPaidSats: 1 })).toEqual({ ok: true, amountSats: 1 })
  })

  const cases: Array<[string, Partial<typeof base> & { dustLimit?: number }, string]> = [
    ['a fractional amount', { newPaidSats: 1_500.5 }, 'not-integer'],
    ['a negative fee', { feeSats: -1 }, 'not-integer'],
    ['NaN', { capacity: Number.NaN }, 'not-integer'],
    ['more than all coins', { capacity: 21_000_001 * 100_000_000 }, 'not-integer'],
    ['a replayed sequence', { newSeq: 3 }, 'bad-sequence'],
    ['a skipped sequence', { newSeq: 5 }, 'bad-sequence'],
    ['the same amount', { newPaidSats: 1_000 }, 'not-increasing'],
    ['a smaller amount', { newPaidSats: 999 }, 'not-increasing'],
    ['an amount past capacity minus fee', { newPaidSats: 100_000 - 26 }, 'exceeds-capacity'],
    ['a first payment below dust', { paidSats: 0, newPaidSats: 545, dustLimit: 546 }, 'below-dust'],
  ]
  it.each(cases)('refuses %s', (_name, change, code) => {
    const verdict = validatePayment({ ...base, ...change })
    expect(verdict.ok).toBe(false)
    if (!verdict.ok) {
      expect(verdict.code).toBe(code)
      expect(verdict.message.length).toBeGreaterThan(0)
    }
  })
})
