import { describe, expect, it } from 'vitest'
import type { Peer } from '../../shared/contract/index.js'
import { shortClock } from './human.js'
import { payeeUnreachableText, reachabilityText, unreachableReason } from './peer-text.js'

const peer = (over: Partial<Peer> = {}): Peer => ({
  peerId: '12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ',
  services: [],
  multiaddrs: [],
  connected: false,
  connection: 'none',
  reachability: 'unknown',
  source: 'manual',
  lastSeen: new Date(0).toISOString(),
  ...over,
})

// Local times, so the expected clock text does not depend on the machine's time zone.
const now = new Date(2026, 10, 23, 16, 30).getTime()
const today = new Date(2026, 10, 23, 14, 2).toISOString()
const earlier = new Date(2026, 10, 20, 9, 5).toISOString()

describe('peer text', () => {
  it('says how a connected peer is reached', () => {
    expect(reachabilityText(peer({ connected: true, connection: 'direct', reachability: 'connected' }), now)).toBe('Connected (direct)')
    expect(reachabilityText(peer({ connected: true, connection: 'relayed', reachability: 'connected' }), now)).toBe('Connected (through a relay)')
    // A connection the directory knows of counts even before reachability caught up.
    expect(reachabilityText(peer({ connected: true, connection: 'direct' }), now)).toBe('Connected (direct)')
    expect(reachabilityText(peer({ reachability: 'connected' }), now)).toBe('Connected')
  })

  it('says since when and why a peer cannot be reached', () => {
    const away = peer({ reachability: 'unreachable', unreachable: { since: today, reason: 'connection refused' } })
    expect(reachabilityText(away, now)).toBe('Unreachable since 14:02 — connection refused')
    const older = peer({ reachability: 'unreachable', unreachable: { since: earlier, reason: '  dial timed out\n after 3 s ' } })
    expect(reachabilityText(older, now)).toBe(`Unreachable since ${shortClock(Date.parse(earlier), now)} — dial timed out after 3 s`)
    expect(reachabilityText(older, now)).toMatch(/since 20 Nov 09:05/)
    expect(reachabilityText(peer({ reachability: 'unreachable' }), now)).toBe('Unreachable')
    expect(reachabilityText(peer({ reachability: 'unreachable', unreachable: { since: 'garbage', reason: '' } }), now)).toBe('Unreachable')
    expect(reachabilityText(peer(), now)).toBe('Not connected')
  })

  it('keeps a long reason to one short line', () => {
    const reason = unreachableReason({ unreachable: { since: today, reason: 'x'.repeat(500) } })!
    expect(reason).toHaveLength(160)
    expect(reason.endsWith('…')).toBe(true)
    expect(unreachableReason({})).toBeNull()
  })

  it('holds Pay only for a payee known to be unreachable', () => {
    expect(payeeUnreachableText(peer({ reachability: 'unreachable', unreachable: { since: today, reason: 'connection refused' } }))).toBe(
      'The payee cannot be reached right now (connection refused); paying waits until they are back.',
    )
    expect(payeeUnreachableText(peer({ reachability: 'unreachable' }))).toBe('The payee cannot be reached right now; paying waits until they are back.')
    expect(payeeUnreachableText(peer())).toBeNull()
    expect(payeeUnreachableText(peer({ reachability: 'connected', connected: true, connection: 'direct' }))).toBeNull()
    expect(payeeUnreachableText(undefined)).toBeNull()
  })
})
