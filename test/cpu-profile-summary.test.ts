// The .cpuprofile summariser behind `npm run profile`, on a real profile: a short busy
// script run under `node --cpu-prof` in a temp dir.
import { execFileSync } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatSummary, profileRole, shortLocation, summariseProfileFile } from '../bench/cpu-profile-summary.js'
import { tempDir } from './helpers/processes.js'

const dir = tempDir('bsv-p2p-cpuprof-')
afterAll(() => dir.remove())

// Two named functions with a 3:1 share of the CPU, then a pause (idle time).
const SCRIPT = `
function busyHashing(ms) {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003
  return x
}
function lighterWork(ms) {
  const end = performance.now() + ms
  let s = ''
  while (performance.now() < end) s = String(Math.sqrt(s.length + 1))
  return s
}
busyHashing(300)
lighterWork(100)
setTimeout(() => {}, 150)
`

describe('CPU profile summary', () => {
  it('finds the functions a real profile spent its time in, with self times that add up', () => {
    writeFileSync(join(dir.path, 'busy.mjs'), SCRIPT)
    execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', join(dir.path, 'out'), '--cpu-prof-interval', '200', join(dir.path, 'busy.mjs')], { env: { ...process.env, NODE_OPTIONS: '' } })
    const [file] = readdirSync(join(dir.path, 'out')).filter((f) => f.endsWith('.cpuprofile'))
    expect(file).toBeDefined()
    const summary = summariseProfileFile(join(dir.path, 'out', file!), { root: dir.path, top: 25 })

    expect(summary.top.length).toBeGreaterThan(2)
    expect(summary.top.length).toBeLessThanOrEqual(25)
    const busy = summary.top.find((f) => f.functionName === 'busyHashing')
    const lighter = summary.top.find((f) => f.functionName === 'lighterWork')
    expect(busy, formatSummary(file!, summary)).toBeDefined()
    expect(lighter).toBeDefined()
    // 300 ms asked for; the sampler and a loaded machine blur it, not by half.
    expect(busy!.selfMs).toBeGreaterThan(150)
    expect(busy!.selfMs).toBeLessThan(1000)
    expect(busy!.selfMs).toBeGreaterThan(lighter!.selfMs)
    expect(busy!.location).toBe('busy.mjs:2')
    // Sorted by self time, and no more time than the profile lasted.
    for (let i = 1; i < summary.top.length; i++) expect(summary.top[i]!.selfMs).toBeLessThanOrEqual(summary.top[i - 1]!.selfMs)
    const total = summary.top.reduce((s, f) => s + f.selfMs, 0)
    expect(total).toBeLessThanOrEqual(summary.durationMs + 1)
    expect(summary.idleMs).toBeGreaterThan(50)
    expect(summary.samples).toBeGreaterThan(100)

    const text = formatSummary(file!, summary)
    expect(text).toContain('busyHashing (busy.mjs:2)')
    expect(text.split('\n')[0]).toContain('ms profiled')
  })

  it('names the process from the scripts it ran, and shortens locations', () => {
    const frame = (url: string) => ({ id: 1, callFrame: { functionName: 'f', url, lineNumber: 0, columnNumber: 0 } })
    expect(profileRole({ nodes: [frame('file:///w/main/daemon/cli.ts')], startTime: 0, endTime: 1 })).toBe('daemon')
    expect(profileRole({ nodes: [frame('file:///w/dist/daemon/cli.js')], startTime: 0, endTime: 1 })).toBe('daemon')
    expect(profileRole({ nodes: [frame('file:///w/bench/fixtures/channel-payee.ts')], startTime: 0, endTime: 1 })).toBe('fixture channel-payee')
    expect(profileRole({ nodes: [frame('file:///w/bench/run.ts')], startTime: 0, endTime: 1 })).toBe('bench runner')
    expect(profileRole({ nodes: [frame('node:internal/main')], startTime: 0, endTime: 1 })).toBe('other')
    expect(profileRole({ nodes: [frame('node:internal/modules/esm/worker')], startTime: 0, endTime: 1 })).toBe('module loader thread')
    expect(shortLocation('file:///w/node_modules/@noble/curves/esm/abstract/weierstrass.js', 9, '/w')).toBe('node_modules/@noble/curves/esm/abstract/weierstrass.js:10')
    expect(shortLocation('file:///w/main/channels/signer.ts', 0, '/w')).toBe('main/channels/signer.ts:1')
    expect(shortLocation('', -1, '/w')).toBe('')
  })
})
