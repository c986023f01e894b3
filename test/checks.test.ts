// The checks `npm test` runs must fail when they should: the repository's own knip and jscpd
// configurations, run on a copy of the tree with one deliberate fault each (an export nobody
// imports, a block pasted twice). A copy, so the tree being worked on is never touched.
import { spawnSync } from 'node:child_process'
import { appendFileSync, cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from './helpers/processes.js'

const work = tempDir('bsv-p2p-checks-')
afterAll(() => work.remove())

/** Built, generated or installed: nothing a check reads as source. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'release', '.tmp', 'native', 'e2e/artifacts', 'bench/profiles', 'test-results', 'playwright-report'])

function treeCopy(name: string): string {
  const dir = join(work.path, name)
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !NOT_COPIED.has(relative(ROOT, src).split(sep).join('/')) })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

function run(cwd: string, bin: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', bin), args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('the checks in npm test', () => {
  it('knip fails on an export nothing imports, and names it', () => {
    const dir = treeCopy('knip')
    // shared/address.ts is imported by the engine and the renderer, so only the new export is unused.
    appendFileSync(join(dir, 'shared', 'address.ts'), '\nexport const DELIBERATELY_UNUSED = 1\n')
    const { status, output } = run(dir, 'knip', ['--no-progress', '--reporter', 'compact'])
    expect(status).not.toBe(0)
    expect(output).toMatch(/shared\/address\.ts: .*DELIBERATELY_UNUSED/)
  })

  it('jscpd fails when a source file is pasted under another name, over the threshold', () => {
    const dir = treeCopy('jscpd')
    // A whole file: jscpd 5.3.2 reported no clone for the first 300 lines of this one, cut
    // mid-class. Its 400 lines twice are 3 % of the 26,000 scanned, far over any threshold
    // that leaves room for real code.
    const source = readFileSync(join(dir, 'main', 'daemon', 'api-server.ts'), 'utf8')
    expect(source.split('\n').length).toBeGreaterThan(200)
    writeFileSync(join(dir, 'main', 'daemon', 'pasted.ts'), source)
    const { status, output } = run(dir, 'jscpd', ['--no-colors'])
    expect(status).not.toBe(0)
    expect(output).toContain('daemon/pasted.ts')
    expect(output).toMatch(/too many duplicates \([\d.]+%\) over threshold/)
  })
})
