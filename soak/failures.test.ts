import { describe, expect, it } from 'vitest'
import { failureLine } from './failures.js'

const clean = { counts: { messagesFailed: 0, paymentsFailed: 0, channelsAbandoned: 0 }, errors: {}, sampleFailures: {}, setupError: null, interrupted: false }

describe('the soak summary of failures', () => {
  it('names the channel errors a run with no failed message or payment recorded (the 2026-12-02 soak)', () => {
    const line = failureLine({ ...clean, counts: { ...clean.counts, channelsAbandoned: 1 }, errors: { 'channel dave->alice': { count: 3 } } })
    expect(line).toBe('failures: 3 in all; failed calls by kind: channel dave->alice 3; messages failed 0, payments failed 0, channels abandoned 1; metric scrapes failed 0; setup ok')
  })

  it('counts failed scrapes and a failed setup, and says so when nothing failed', () => {
    expect(failureLine(clean)).toBe('failures: 0 in all; failed calls by kind: none; messages failed 0, payments failed 0, channels abandoned 0; metric scrapes failed 0; setup ok')
    const line = failureLine({ ...clean, counts: null, errors: { pay: { count: 2 }, message: { count: 0 } }, sampleFailures: { alice: 1, bob: 2 }, setupError: 'devnet did not start', interrupted: true })
    expect(line).toBe('failures: 6 in all; failed calls by kind: pay 2; messages failed n/a, payments failed n/a, channels abandoned n/a; metric scrapes failed 3; setup FAILED (devnet did not start), interrupted')
  })
})
