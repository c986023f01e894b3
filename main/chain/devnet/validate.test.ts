import { P2PKH, Transaction, UnlockingScript } from '@bsv/sdk'
import { describe, expect, it } from 'vitest'
import { DevnetRejection, LOCKTIME_THRESHOLD, isFinal, minimumFee, parseTransaction } from './validate.js'

function tx(lockTime: number, sequences: number[]): Transaction {
  const t = new Transaction()
  for (const [i, sequence] of sequences.entries()) t.addInput({ sourceTXID: `${i}`.padStart(64, '0'), sourceOutputIndex: 0, sequence })
  t.lockTime = lockTime
  return t
}

describe('finality (BSV IsFinalTx)', () => {
  const now = 1_800_000_000
  it('nLockTime 0 is final whatever the sequences', () => {
    expect(isFinal(tx(0, [0, 1]), 100, now)).toBe(true)
  })
  it('a height lock is final only below the next block height', () => {
    expect(isFinal(tx(99, [0]), 100, now)).toBe(true)
    expect(isFinal(tx(100, [0]), 100, now)).toBe(false)
    expect(isFinal(tx(101, [0]), 100, now)).toBe(false)
  })
  it('a time lock compares with the clock', () => {
    expect(isFinal(tx(now - 1, [0]), 100, now)).toBe(true)
    expect(isFinal(tx(now + 1, [0]), 100, now)).toBe(false)
    expect(isFinal(tx(LOCKTIME_THRESHOLD, [0]), 100, now)).toBe(true)
  })
  it('all-final sequences make any lock time final; one non-final input does not', () => {
    expect(isFinal(tx(1_000, [0xffffffff, 0xffffffff]), 100, now)).toBe(true)
    expect(isFinal(tx(1_000, [0xffffffff, 0xfffffffe]), 100, now)).toBe(false)
  })
})

describe('fees and parsing', () => {
  it('rounds the minimum fee up', () => {
    expect(minimumFee(191, 50)).toBe(10)
    expect(minimumFee(200, 50)).toBe(10)
    expect(minimumFee(201, 50)).toBe(11)
    expect(minimumFee(1000, 0)).toBe(0)
  })
  it('refuses what is not a transaction as malformed', () => {
    const good = tx(0, [0xffffffff])
    good.addOutput({ lockingScript: new P2PKH().lock('1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH'), satoshis: 1 })
    const hex = new Transaction(good.version, good.inputs.map((i) => ({ ...i, unlockingScript: new UnlockingScript() })), good.outputs, 0).toHex()
    expect(parseTransaction(hex).id('hex')).toHaveLength(64)
    for (const bad of ['', 'abc', 'zz', '00', '0100000000', `${hex}00`, hex.slice(0, -2)]) {
      expect(() => parseTransaction(bad)).toThrow(DevnetRejection)
    }
  })
})
