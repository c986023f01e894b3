import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../../helpers/processes.js'
import { recordSummary, resultsDir } from './results.js'

const work = tempDir('bsv-p2p-chaos-results-')
afterAll(() => work.remove())

describe('chaos results', () => {
  it('prints the summary line and keeps it as a file with the profile, the time and the commit', () => {
    const printed: string[] = []
    const summary = { scenario: 'partition', seed: 7, missingPayments: 0, paymentsFailed: { timeout: 2 } }
    const file = recordSummary(summary, { profile: 'full', dir: work.path, print: (l) => printed.push(l), now: new Date('2026-12-04T13:05:06.789Z') })
    expect(printed).toEqual([`${JSON.stringify(summary)}\n`])
    expect(file).toBe(join(work.path, 'partition-2026-12-04T13-05-06-789Z.json'))
    const kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    expect(kept).toMatchObject({ ...summary, profile: 'full', recordedAt: '2026-12-04T13:05:06.789Z' })
    expect(kept.git).toHaveProperty('commit')
    expect(kept.git).toHaveProperty('dirty')
  })

  it('names a per-target report after its target, so one run leaves one file per target', () => {
    const dir = join(work.path, 'targets')
    const now = new Date('2026-12-04T13:05:06.789Z')
    for (const target of ['http', 'ipc']) recordSummary({ scenario: 'malformed-input', target, inputs: 1 }, { profile: 'short', dir, print: () => undefined, now })
    expect(readdirSync(dir).sort()).toEqual(['malformed-input-http-2026-12-04T13-05-06-789Z.json', 'malformed-input-ipc-2026-12-04T13-05-06-789Z.json'])
  })

  it('keeps full runs in the repository and the short ones of `npm test` in the gitignored .tmp/', () => {
    expect(resultsDir('full', {})).toBe(join(ROOT, 'test', 'chaos', 'results'))
    expect(resultsDir('short', {})).toBe(join(ROOT, '.tmp', 'chaos-results'))
    expect(resultsDir('short', { CHAOS_RESULTS_DIR: work.path })).toBe(work.path)
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.tmp/')
  })
})
