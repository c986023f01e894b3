import { describe, expect, it } from 'vitest'
import { IdempotencyKeySchema } from '../../shared/contract/index.js'
import { IntentKeys, newIdempotencyKey } from './intent-keys.js'

describe('IntentKeys', () => {
  it('keeps the key while the same call is tried again, and starts a new one after success or other params', () => {
    let n = 0
    const keys = new IntentKeys(() => `key-${++n}-xxxxxxxx`)
    const first = keys.keyFor('pay 100')
    expect(keys.keyFor('pay 100')).toBe(first) // retry after a failure or a lost answer
    const other = keys.keyFor('pay 200')
    expect(other).not.toBe(first) // another intent
    keys.done(other)
    expect(keys.keyFor('pay 200')).not.toBe(other) // paying 200 again is a new payment
    keys.done('stale')
    expect(keys.keyFor('pay 200')).toBe('key-3-xxxxxxxx')
  })

  it('makes keys the contract accepts, never the same twice', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const key = newIdempotencyKey()
      expect(IdempotencyKeySchema.safeParse(key).success).toBe(true)
      seen.add(key)
    }
    expect(seen.size).toBe(1000)
  })
})
