import { describe, expect, it } from 'vitest'
import { assessHealth } from './health.js'

const relay = (state: 'disabled' | 'connecting' | 'reserved' | 'unavailable') => ({ state, relays: [] })

describe('assessHealth', () => {
  it('is down when the engine is not running', () => {
    expect(assessHealth({ running: false, relay: relay('reserved') }).status).toBe('down')
  })

  it('is down while the disk refuses writes, with the reason first, and ok again when it takes them', () => {
    const storeFault = { code: 'SQLITE_FULL', message: 'database or disk is full', since: Date.UTC(2026, 11, 3, 12) }
    const h = assessHealth({ running: true, relay: relay('unavailable'), storeFault })
    expect(h.status).toBe('down')
    expect(h.reasons[0]).toMatch(/^the disk refuses writes to the database since 2026-12-03T12:00:00.000Z \(SQLITE_FULL: database or disk is full\)/)
    expect(h.reasons).toHaveLength(2)
    expect(assessHealth({ running: true, relay: relay('reserved'), storeFault: null })).toEqual({ status: 'ok', reasons: [] })
  })

  it('is ok with a reservation or without relays configured', () => {
    expect(assessHealth({ running: true, relay: relay('reserved') })).toEqual({ status: 'ok', reasons: [] })
    expect(assessHealth({ running: true, relay: relay('disabled') })).toEqual({ status: 'ok', reasons: [] })
  })

  it('is degraded, never down, while only the relay is missing', () => {
    for (const state of ['connecting', 'unavailable'] as const) {
      const h = assessHealth({ running: true, relay: relay(state) })
      expect(h.status).toBe('degraded')
      expect(h.reasons).toHaveLength(1)
    }
  })

  it('is degraded when the chain is unavailable', () => {
    const h = assessHealth({ running: true, relay: relay('reserved'), chain: { state: 'unavailable', height: null, network: 'devnet' } })
    expect(h.status).toBe('degraded')
    expect(h.reasons[0]).toMatch(/chain/)
  })
})
