import { describe, expect, it } from 'vitest'
import { methods } from '../../shared/contract/index.js'
import { contactNameInputProblem, nameIndex, peerNaming } from './contact-text.js'

const PEER = '12D3KooWJbR3Y7d4GJ5QyW8dLqVvXgX6tMeVg8D1q6pY2CnctpQm'

describe('peerNaming', () => {
  it('the contact name wins, then the announced name, then the short id', () => {
    expect(peerNaming(PEER, 'Bob', 'Mallory')).toEqual({ name: 'Bob', source: 'contact' })
    expect(peerNaming(PEER, undefined, 'Mallory')).toEqual({ name: 'Mallory', source: 'announced' })
    expect(peerNaming(PEER, undefined, undefined)).toEqual({ name: '12D3KooWJb…nctpQm', source: 'id' })
    expect(peerNaming(PEER, '', '')).toEqual({ name: '12D3KooWJb…nctpQm', source: 'id' })
  })
})

describe('contactNameInputProblem agrees with the contract', () => {
  const cases = ['Bob', '  Bob  ', '', '   ', 'x'.repeat(64), 'x'.repeat(65), 'a\tb', 'a\nb', 'a\u202Eb', '👩‍💻', 'Zoë', '\u0000']
  for (const input of cases) {
    it(JSON.stringify(input), () => {
      const accepted = methods.setContact.params.safeParse({ peerId: PEER, name: input }).success
      expect(contactNameInputProblem(input) === null).toBe(accepted)
    })
  }

  it('says why in words', () => {
    expect(contactNameInputProblem('  ')).toBe('Type a name, or cancel.')
    expect(contactNameInputProblem('x'.repeat(70))).toMatch(/at most 64 characters; this one has 70/)
    expect(contactNameInputProblem('a\nb')).toMatch(/control characters/)
  })
})

describe('nameIndex', () => {
  it('indexes named entries once per list', () => {
    const list = [{ peerId: 'a', name: 'A' }, { peerId: 'b' }, { peerId: 'c', name: null }]
    const index = nameIndex(list)
    expect([...index]).toEqual([['a', 'A']])
    expect(nameIndex(list)).toBe(index)
  })
})
