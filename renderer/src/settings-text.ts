import { LOG_LEVELS, type LimitName, type Limits, LimitsSchema, type LogLevel, MAX_RELAYS, type Settings, type SettingsUpdate } from '../../shared/contract/index.js'
import { limitLabel } from './human.js'
import { peerAddressProblem } from './peer-address.js'

export const LOG_LEVEL_TEXT: Record<LogLevel, string> = {
  error: 'Errors only',
  warn: 'Warnings and errors',
  info: 'Normal (info)',
  debug: 'Everything (debug): for looking into a problem',
}

export { LOG_LEVELS }

export const LIMIT_NAMES = Object.keys(LimitsSchema.shape) as LimitName[]

/** Limits kept in milliseconds are edited in a unit a person thinks in. */
const LIMIT_UNITS: Partial<Record<LimitName, { unit: string; ms: number }>> = {
  peerDirectoryTtlMs: { unit: 'minutes', ms: 60_000 },
}

export function limitUnit(name: LimitName): string | null {
  return LIMIT_UNITS[name]?.unit ?? null
}

/** The settings form as typed: every field is text until it is checked. */
export interface SettingsDraft {
  logLevel: LogLevel
  /** One relay address per line. */
  relays: string
  limits: Record<LimitName, string>
}

export interface SettingsProblems {
  relays?: string
  limits: Partial<Record<LimitName, string>>
}

const limitText = (name: LimitName, value: number): string => {
  const unit = LIMIT_UNITS[name]
  return String(unit ? value / unit.ms : value)
}

/** The form filled with what the node will run with from its next start (the log level applies at once). */
export function draftOfSettings(s: Settings): SettingsDraft {
  const limits = {} as Record<LimitName, string>
  for (const name of LIMIT_NAMES) limits[name] = limitText(name, s.editable.next.limits[name])
  return { logLevel: s.logLevel, relays: s.editable.next.relays.join('\n'), limits }
}

const relayLines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

function parseLimit(name: LimitName, input: string): { value: number | null; problem: string | null } {
  const unit = LIMIT_UNITS[name]
  const text = input.trim().replace(/[\s,_\u2009]/g, '')
  const label = limitLabel(name).toLowerCase()
  if (!/^\d+$/.test(text)) return { value: null, problem: `Enter a whole number${unit ? ` of ${unit.unit}` : ''} for ${label}.` }
  const value = Number(text) * (unit?.ms ?? 1)
  const max = LimitsSchema.shape[name].maxValue ?? Number.MAX_SAFE_INTEGER
  if (value < 1 || !Number.isSafeInteger(value)) return { value: null, problem: `${capitalise(label)} must be at least 1${unit ? ` ${unit.unit.replace(/s$/, '')}` : ''}.` }
  if (value > max) return { value: null, problem: `${capitalise(label)} can be at most ${limitText(name, max)}${unit ? ` ${unit.unit}` : ''}.` }
  return { value, problem: null }
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

/**
 * The update a draft stands for (only what differs from the saved settings and may be
 * changed here), or why it cannot be sent. The node checks again and has the last word.
 */
export function parseSettingsDraft(draft: SettingsDraft, saved: Settings): { update: SettingsUpdate | null; problems: SettingsProblems } {
  const problems: SettingsProblems = { limits: {} }
  const fixed = new Set(saved.editable.fixed)
  const update: SettingsUpdate = {}

  if (!fixed.has('logLevel') && draft.logLevel !== saved.logLevel) update.logLevel = draft.logLevel

  if (!fixed.has('p2p.relays')) {
    const relays = relayLines(draft.relays)
    const seen = new Set<string>()
    for (const [i, relay] of relays.entries()) {
      const why = peerAddressProblem(relay)
      if (why) problems.relays = relays.length === 1 ? why : `Line ${i + 1}: ${why}`
      else if (seen.has(relay)) problems.relays = `Line ${i + 1}: this relay is already listed.`
      if (problems.relays) break
      seen.add(relay)
    }
    if (relays.length > MAX_RELAYS) problems.relays = `A node keeps at most ${MAX_RELAYS} relays.`
    if (!problems.relays && relays.join('\n') !== saved.editable.next.relays.join('\n')) update.relays = relays
  }

  const limits: Partial<Limits> = {}
  for (const name of LIMIT_NAMES) {
    if (fixed.has(`limits.${name}`)) continue
    const { value, problem } = parseLimit(name, draft.limits[name])
    if (problem) problems.limits[name] = problem
    else if (value !== saved.editable.next.limits[name]) limits[name] = value!
  }
  if (Object.keys(limits).length > 0) update.limits = limits

  const ok = !problems.relays && Object.keys(problems.limits).length === 0
  return { update: ok ? update : null, problems }
}

export function draftChanged(draft: SettingsDraft, saved: Settings): boolean {
  const base = draftOfSettings(saved)
  return draft.logLevel !== base.logLevel || relayLines(draft.relays).join('\n') !== relayLines(base.relays).join('\n') || LIMIT_NAMES.some((n) => draft.limits[n].trim() !== base.limits[n])
}

/** What was saved but waits for the next start, in words; empty when the node runs with what is saved. */
export function waitingForRestart(s: Settings): string[] {
  const waiting: string[] = []
  if (s.editable.next.relays.join('\n') !== s.p2p.relays.join('\n')) waiting.push('relays')
  for (const name of LIMIT_NAMES) if (s.editable.next.limits[name] !== s.limits[name]) waiting.push(limitLabel(name).toLowerCase())
  return waiting
}

/** Why a field cannot be changed here, or null when it can. */
export function fixedReason(s: Settings, key: string): string | null {
  return s.editable.fixed.includes(key) ? 'Set on the command line or in the environment; change it there.' : null
}
