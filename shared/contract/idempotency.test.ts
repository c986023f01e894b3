import { describe, expect, it } from 'vitest'
import { IDEMPOTENT_METHODS, METHOD_NAMES, methods } from './index.js'

const KEY = 'a1b2c3d4-e5f6-4789-9abc-def012345678'

/** Does the method's params schema take a key (and only a well-formed one)? */
function takesKey(name: (typeof METHOD_NAMES)[number]): boolean {
  const schema = methods[name].params
  const withKey = schema.safeParse({ idempotencyKey: KEY })
  // Other params may be missing: a key is taken when no issue names it.
  return withKey.success || !withKey.error.issues.some((i) => i.path[0] === 'idempotencyKey' || (i.code === 'unrecognized_keys' && i.keys.includes('idempotencyKey')))
}

describe('idempotency keys in the contract', () => {
  it('every method with effects takes a key, and no other method does', () => {
    for (const name of METHOD_NAMES) expect([name, takesKey(name)]).toEqual([name, (IDEMPOTENT_METHODS as readonly string[]).includes(name)])
  })

  it('refuses malformed keys', () => {
    for (const bad of ['short', 'has space in it', 'x'.repeat(129), 'ключ-ключ-ключ']) {
      const parsed = methods.pay.params.safeParse({ channelId: '0'.repeat(32), sats: 1, idempotencyKey: bad })
      expect(parsed.success).toBe(false)
    }
  })
})
