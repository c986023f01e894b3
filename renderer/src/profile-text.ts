import { MAX_PROFILE_BYTES, MAX_PROFILE_SERVICES, type Profile, ProfileSchema } from '../../shared/contract/index.js'
import { parseSats } from './channel-text.js'

/** The profile form as typed: every field is text until it is checked. */
export interface ProfileDraft {
  name: string
  services: ServiceDraft[]
}

export interface ServiceDraft {
  name: string
  price: string
  description: string
}

interface ServiceProblems {
  name?: string
  price?: string
  description?: string
}

export interface ProfileProblems {
  name?: string
  /** By the service's index in the draft. */
  services: Record<number, ServiceProblems>
  /** A problem of the whole profile (too large to announce). */
  form?: string
}

export const MAX_NAME_CHARS = 64
const MAX_DESCRIPTION_CHARS = 280

export const emptyService = (): ServiceDraft => ({ name: '', price: '', description: '' })

export function draftOf(profile: Profile): ProfileDraft {
  return {
    name: profile.name ?? '',
    services: profile.services.map((s) => ({ name: s.name, price: String(s.priceSats), description: s.description ?? '' })),
  }
}

// Unicode "control" and "format" characters: invisible, and able to disguise a name.
const INVISIBLE = /[\p{Cc}\p{Cf}]/u

function nameProblem(text: string, what: string): string | null {
  if (INVISIBLE.test(text)) return `The ${what} has an invisible character in it; type it again.`
  if ([...text].length > MAX_NAME_CHARS) return `The ${what} can be at most ${MAX_NAME_CHARS} characters; this one has ${[...text].length}.`
  return null
}

/**
 * The profile a draft stands for, or why it cannot be sent, field by field. The contract's
 * own schema has the last word (it also bounds the size of the whole announcement).
 */
export function parseProfileDraft(draft: ProfileDraft): { profile: Profile | null; problems: ProfileProblems } {
  const problems: ProfileProblems = { services: {} }
  const name = draft.name.trim()
  const whyName = name === '' ? null : nameProblem(name, 'name')
  if (whyName) problems.name = whyName
  if (draft.services.length > MAX_PROFILE_SERVICES) problems.form = `A node can offer at most ${MAX_PROFILE_SERVICES} services.`
  const seen = new Set<string>()
  const services: Profile['services'] = []
  for (const [i, s] of draft.services.entries()) {
    const p: ServiceProblems = {}
    const serviceName = s.name.trim()
    if (serviceName === '') p.name = 'Give the service a name, or remove it.'
    else p.name = nameProblem(serviceName, 'service name') ?? (seen.has(serviceName) ? 'Another service already has this name.' : undefined)
    seen.add(serviceName)
    const price = parseSats(s.price, { min: 0, what: 'price' })
    if (price.problem) p.price = price.problem
    const description = s.description.trim()
    if ([...description].length > MAX_DESCRIPTION_CHARS) p.description = `A description can be at most ${MAX_DESCRIPTION_CHARS} characters; this one has ${[...description].length}.`
    if (p.name || p.price || p.description) problems.services[i] = Object.fromEntries(Object.entries(p).filter(([, v]) => v)) as ServiceProblems
    else services.push({ name: serviceName, priceSats: price.sats!, ...(description === '' ? {} : { description }) })
  }
  if (problems.name || problems.form || Object.keys(problems.services).length > 0) return { profile: null, problems }
  const profile: Profile = { name: name === '' ? null : name, services }
  if (!ProfileSchema.safeParse(profile).success) {
    problems.form = `This profile is too large to announce: peers take at most ${MAX_PROFILE_BYTES.toLocaleString('en-US')} bytes. Shorten the descriptions or offer fewer services.`
    return { profile: null, problems }
  }
  return { profile, problems }
}

/** Whether the draft differs from the saved profile (Save is pointless otherwise). */
export function draftChanged(draft: ProfileDraft, saved: Profile): boolean {
  return JSON.stringify(draftOf(saved)) !== JSON.stringify({ name: draft.name.trim(), services: draft.services.map((s) => ({ name: s.name.trim(), price: s.price.trim(), description: s.description.trim() })) })
}
