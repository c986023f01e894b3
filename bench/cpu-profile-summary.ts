// A terminal's view of a V8 .cpuprofile (what `node --cpu-prof` writes): the functions
// with the most self time, so where the time goes is readable without a flame graph.
// The format: `nodes` (a call tree; each node a callFrame and its direct sample count),
// `samples` (the node id on top of the stack at each tick) and `timeDeltas` (µs between
// ticks). Sample i lasts until sample i + 1, as Chrome DevTools counts it.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

interface FunctionTime {
  functionName: string
  /** Where it is, shortened (project-relative, node_modules/<package>/..., node:...). */
  location: string
  selfMs: number
  /** Of the profile's whole duration. */
  selfPercent: number
}

export interface ProfileSummary {
  /** Which process this was, read from the scripts it ran (daemon, runner, relay, ...). */
  role: string
  durationMs: number
  samples: number
  /** Time no JavaScript ran: (idle), i.e. waiting on I/O or timers. */
  idleMs: number
  top: FunctionTime[]
}

/** Entry scripts of the processes a bench run starts, in the order they are looked for. */
const ROLES: [RegExp, string][] = [
  [/\/daemon\/cli\.(ts|js)$/, 'daemon'],
  [/\/relay\/cli\.(ts|js)$/, 'relay'],
  [/\/devnet\/cli\.(ts|js)$/, 'devnet'],
  [/\/bench\/fixtures\/([^/]+)\.(ts|mjs|js)$/, 'fixture'],
  [/\/test\/fixtures\/([^/]+)\.(ts|mjs|js)$/, 'fixture'],
  [/\/bench\/run\.(ts|js)$/, 'bench runner'],
  // Node 20 runs module hooks (tsx) on a thread of their own, which gets its own profile.
  [/^node:internal\/modules\/esm\/worker$/, 'module loader thread'],
]

function parseCpuProfile(text: string): CpuProfile {
  const data = JSON.parse(text) as Partial<CpuProfile>
  if (!Array.isArray(data.nodes) || typeof data.startTime !== 'number' || typeof data.endTime !== 'number') throw new Error('not a V8 CPU profile (nodes, startTime, endTime expected)')
  return data as CpuProfile
}

export function shortLocation(url: string, lineNumber: number, root: string): string {
  if (url === '') return ''
  let path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) path = path.slice(modules + 1)
  else if (path.startsWith(`${root}/`)) path = path.slice(root.length + 1)
  // V8 counts lines from 0; editors from 1.
  return lineNumber >= 0 ? `${path}:${lineNumber + 1}` : path
}

export function profileRole(profile: CpuProfile): string {
  const urls = new Set(profile.nodes.map((n) => n.callFrame.url.replace(/^file:\/\//, '')))
  for (const [pattern, role] of ROLES) {
    for (const url of urls) {
      const m = pattern.exec(url)
      if (m) return role === 'fixture' ? `fixture ${m[1]}` : role
    }
  }
  return 'other'
}

/** Self time per node id, in µs. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  const { samples, timeDeltas } = profile
  if (samples && timeDeltas && samples.length === timeDeltas.length && samples.length > 0) {
    let at = profile.startTime
    const stamps = timeDeltas.map((d) => (at += d))
    for (let i = 0; i < samples.length; i++) {
      const until = i + 1 < stamps.length ? stamps[i + 1]! : profile.endTime
      self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, until - stamps[i]!))
    }
    return self
  }
  // No sample list: spread the duration over the hit counts.
  const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0)
  const perHit = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0
  for (const n of profile.nodes) self.set(n.id, (n.hitCount ?? 0) * perHit)
  return self
}

function summariseProfile(profile: CpuProfile, opts: { root: string; top?: number }): ProfileSummary {
  const self = selfTimes(profile)
  const durationUs = Math.max(1, profile.endTime - profile.startTime)
  // The same function appears under many callers: its self time is the sum over them.
  const byFunction = new Map<string, { functionName: string; location: string; us: number }>()
  let idleUs = 0
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0
    if (us === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') idleUs += us
    const name = functionName || '(anonymous)'
    const location = shortLocation(url, lineNumber, opts.root)
    const key = `${name}\u0000${location}`
    const entry = byFunction.get(key) ?? { functionName: name, location, us: 0 }
    entry.us += us
    byFunction.set(key, entry)
  }
  const top = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, opts.top ?? 25)
    .map((f) => ({ functionName: f.functionName, location: f.location, selfMs: Math.round(f.us / 10) / 100, selfPercent: Math.round((f.us / durationUs) * 1000) / 10 }))
  return { role: profileRole(profile), durationMs: Math.round(durationUs / 1000), samples: profile.samples?.length ?? 0, idleMs: Math.round(idleUs / 1000), top }
}

export function formatSummary(file: string, s: ProfileSummary): string {
  const busy = s.durationMs - s.idleMs
  const lines = [`${basename(file)} — ${s.role}: ${s.durationMs} ms profiled, ${busy} ms not idle, ${s.samples} samples`, '   self ms  self %  function (location)']
  for (const f of s.top) lines.push(`${f.selfMs.toFixed(1).padStart(10)}  ${f.selfPercent.toFixed(1).padStart(5)}%  ${f.functionName}${f.location ? ` (${f.location})` : ''}`)
  return lines.join('\n')
}

export function summariseProfileFile(file: string, opts: { root: string; top?: number }): ProfileSummary {
  return summariseProfile(parseCpuProfile(readFileSync(file, 'utf8')), opts)
}
