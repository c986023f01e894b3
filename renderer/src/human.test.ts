import { describe, expect, it } from 'vitest'
import { ContractError } from '../../shared/contract/index.js'
import { RELAY_TEXT, duration, formatSats, humanError, limitLabel, limitValue, relativeTime, shortClock, shortPeerId } from './human.js'
import { peerAddressProblem } from './peer-address.js'

const ID = '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'

describe('human words', () => {
  it('explains relay states in terms of what they mean for the person', () => {
    expect(`${RELAY_TEXT.reserved.label}: ${RELAY_TEXT.reserved.meaning}`).toBe('Reachable through the relay: Peers behind NAT can reach you.')
    expect(RELAY_TEXT.unavailable.meaning).toMatch(/Direct connections still work; retrying in the background/)
    expect(RELAY_TEXT.connecting.label).toBe(RELAY_TEXT.unavailable.label)
  })

  it('turns errors into one sentence, never a stack', () => {
    expect(humanError(new ContractError('unauthorized', 'missing or wrong API token (Authorization: Bearer …)'))).toMatch(/token was not accepted/)
    expect(humanError(new ContractError('internal', 'internal error'))).toMatch(/inside the wallet service/)
    expect(humanError(new ContractError('unavailable', 'could not dial the peer: connection refused'))).toBe('Could not dial the peer: connection refused')
    expect(humanError(new ContractError('invalid_params', 'x', { issues: [{ path: 'multiaddr', message: 'must be a multiaddr' }] }))).toBe('Multiaddr must be a multiaddr.')
    expect(humanError(new TypeError('x is undefined'))).toBe('Something went wrong. Please try again.')
    // Channel refusals: the engine's own sentence when it has one, a sentence for the code when not.
    expect(humanError(new ContractError('insufficient_funds', 'not enough coins: 500 sat spendable, 50100 sat needed with the fee'))).toBe('Not enough coins: 500 sat spendable, 50100 sat needed with the fee')
    // With the numbers in its details, a shortfall is formatted as every other amount.
    expect(humanError(new ContractError('insufficient_funds', 'not enough coins: 500 sat spendable, 50100 sat needed with the fee', { available: 500, needed: 50_100 }))).toBe(
      `Not enough coins: ${formatSats(500)} can be spent, and this needs ${formatSats(50_100)} with the fee.`,
    )
    expect(humanError(new ContractError('insufficient_funds', 'the payment exceeds the capacity', { reason: 'exceeds-capacity' }))).toBe('The payment exceeds the capacity')
    for (const code of ['not_found', 'conflict', 'invalid_state', 'insufficient_funds', 'rejected', 'timeout', 'unavailable', 'forbidden', 'wrong_passphrase'] as const) {
      expect(humanError(new ContractError(code, ''))).toMatch(/^[A-Z].*\.$/)
    }
  })

  it('formats times, amounts and ids', () => {
    const now = Date.parse('2026-11-23T12:00:00Z')
    expect(relativeTime('2026-11-23T11:59:50Z', now)).toBe('just now')
    expect(relativeTime('2026-11-23T11:55:00Z', now)).toBe('5 minutes ago')
    expect(relativeTime('2026-11-23T10:00:00Z', now)).toBe('2 hours ago')
    expect(relativeTime('2026-11-20T12:00:00Z', now)).toBe('3 days ago')
    expect(relativeTime('garbage', now)).toBe('unknown')
    // To the minute, in local time; a date in front for an earlier day.
    const local = new Date(2026, 10, 23, 16, 30).getTime()
    expect(shortClock(new Date(2026, 10, 23, 9, 5, 59).getTime(), local)).toBe('09:05')
    expect(shortClock(new Date(2026, 10, 22, 23, 59).getTime(), local)).toBe('22 Nov 23:59')
    expect(duration(59)).toBe('59 s')
    expect(duration(3600 + 120)).toBe('1 h 2 min')
    expect(formatSats(1)).toBe('1 sat')
    expect(formatSats(1234567)).toBe('1\u2009234\u2009567 sats')
    expect(formatSats(2_100_000_000_000_000n)).toBe('2\u2009100\u2009000\u2009000\u2009000\u2009000 sats')
    expect(shortPeerId(ID)).toBe('12D3KooWSU…P2WskZ')
    expect(limitLabel('maxConnections')).toBe('Connections at most')
    expect(limitLabel('maxMessageBytes')).toBe('Max message bytes')
    expect(limitValue('peerDirectoryTtlMs', 3_600_000)).toBe('1 h')
    expect(limitValue('maxMessageBytes', 65536)).toBe('64 KiB')
  })
})

describe('peer address check', () => {
  it('accepts direct and relayed addresses that name the peer', () => {
    expect(peerAddressProblem(`/ip4/127.0.0.1/tcp/4001/p2p/${ID}`)).toBeNull()
    expect(peerAddressProblem(` /dns4/node.example/tcp/443/wss/p2p/${ID} `)).toBeNull()
    expect(peerAddressProblem(`/ip4/127.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`)).toBeNull()
  })

  it('says what is wrong with a bad one', () => {
    expect(peerAddressProblem('')).toMatch(/Enter/)
    expect(peerAddressProblem('hello')).toMatch(/starts with “\/”/)
    expect(peerAddressProblem('/ip4/999.1.1.1/tcp/1/p2p/' + ID)).toMatch(/cannot be read: .*IPv4/)
    expect(peerAddressProblem('/ip4/127.0.0.1/tcp/4001')).toMatch(/Add the peer’s ID/)
    expect(peerAddressProblem('/tcp/4001/p2p/' + ID)).toMatch(/must begin with the peer’s host/)
    expect(peerAddressProblem('/ip4/127.0.0.1/tcp/4001/p2p/notanid')).not.toBeNull()
    expect(peerAddressProblem('/ip4/1.2.3.4/tcp/1/<script>')).toMatch(/not a peer address/)
  })
})
