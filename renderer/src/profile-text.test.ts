import { describe, expect, it } from 'vitest'
import { type ProfileDraft, draftChanged, draftOf, emptyService, parseProfileDraft } from './profile-text.js'

const draft = (over: Partial<ProfileDraft> = {}): ProfileDraft => ({ name: 'Bob', services: [], ...over })

describe('profile text', () => {
  it('turns a typed draft into a profile: trimmed, an empty name is no name, prices in whole sats', () => {
    expect(parseProfileDraft(draft({ name: '  Bob ', services: [{ name: ' storage ', price: '1 000', description: ' ' }] })).profile).toEqual({
      name: 'Bob',
      services: [{ name: 'storage', priceSats: 1000 }],
    })
    expect(parseProfileDraft(draft({ name: '   ' })).profile).toEqual({ name: null, services: [] })
    expect(parseProfileDraft(draft({ services: [{ name: 'free advice', price: '0', description: 'ask me' }] })).profile?.services).toEqual([{ name: 'free advice', priceSats: 0, description: 'ask me' }])
  })

  it('says what is wrong, field by field, and sends nothing', () => {
    const { profile, problems } = parseProfileDraft(
      draft({
        name: 'x'.repeat(65),
        services: [
          { name: '', price: '10', description: '' },
          { name: 'a', price: '1.5', description: '' },
          { name: 'a', price: '', description: 'y'.repeat(281) },
        ],
      }),
    )
    expect(profile).toBeNull()
    expect(problems.name).toMatch(/at most 64 characters; this one has 65/)
    expect(problems.services[0]).toEqual({ name: expect.stringMatching(/Give the service a name/) })
    expect(problems.services[1]).toEqual({ price: expect.stringMatching(/whole number/) })
    expect(problems.services[2]).toEqual({ name: expect.stringMatching(/Another service/), price: expect.stringMatching(/Enter the price/), description: expect.stringMatching(/at most 280/) })
    expect(parseProfileDraft(draft({ name: 'Bob\u200B' })).problems.name).toMatch(/invisible character/)
  })

  it('refuses a profile too large to announce, as a whole', () => {
    const services = Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, price: '1', description: 'é'.repeat(280) }))
    const { profile, problems } = parseProfileDraft(draft({ services }))
    expect(profile).toBeNull()
    expect(problems.form).toMatch(/too large to announce/)
    expect(parseProfileDraft(draft({ services: Array.from({ length: 9 }, emptyService) })).problems.form).toMatch(/at most 8 services/)
  })

  it('knows when the draft differs from what is saved', () => {
    const saved = { name: 'Bob', services: [{ name: 'storage', priceSats: 50 }] }
    expect(draftChanged(draftOf(saved), saved)).toBe(false)
    expect(draftChanged({ ...draftOf(saved), name: ' Bob ' }, saved)).toBe(false)
    expect(draftChanged({ ...draftOf(saved), name: 'Robert' }, saved)).toBe(true)
    expect(draftChanged({ name: 'Bob', services: [] }, saved)).toBe(true)
  })
})
