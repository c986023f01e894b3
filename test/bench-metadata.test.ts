// The record every bench run carries (bench/run-metadata.ts): commit, dirty tree, machine,
// load, CPU baselines, and a run that still records where git is missing.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cpuBaselines, describeRun, finishRunMetadata, gitState, startRunMetadata } from '../bench/run-metadata.js'
import { tempDir } from './helpers/processes.js'

const dir = tempDir('bsv-p2p-bench-meta-')
afterAll(() => dir.remove())

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd, encoding: 'utf8' }).trim()

describe('bench run metadata', () => {
  it('records the commit of a repository and whether its tree is dirty', () => {
    const repo = join(dir.path, 'repo')
    mkdirSync(repo)
    git(repo, 'init', '-q')
    writeFileSync(join(repo, 'a.txt'), 'one\n')
    git(repo, 'add', 'a.txt')
    git(repo, 'commit', '-q', '-m', 'first')
    const head = git(repo, 'rev-parse', 'HEAD')
    expect(gitState({ cwd: repo })).toEqual({ commit: head, dirty: false })
    writeFileSync(join(repo, 'a.txt'), 'two\n')
    expect(gitState({ cwd: repo })).toEqual({ commit: head, dirty: true })
  })

  it('records commit null where git is absent or the directory is no repository', () => {
    expect(gitState({ cwd: dir.path, git: join(dir.path, 'no-such-git') })).toEqual({ commit: null, dirty: null })
    const plain = join(dir.path, 'plain')
    mkdirSync(plain)
    expect(gitState({ cwd: plain }).commit).toBeNull()
  })

  it('measures CPU baselines that are positive and plausible', () => {
    const b = cpuBaselines()
    expect(b.sha256MiBPerSecond).toBeGreaterThan(10)
    expect(b.ecdsaSignMicros).toBeGreaterThan(1)
    expect(b.ecdsaSignMicros).toBeLessThan(50_000)
    expect(b.ecdsaVerifyMicros).toBeGreaterThan(1)
    expect(b.ecdsaVerifyMicros).toBeLessThan(50_000)
  })

  it('records machine, load at start and end, and prints them in the summary header', () => {
    const meta = finishRunMetadata(startRunMetadata({ cwd: dir.path, git: join(dir.path, 'no-such-git') }))
    expect(meta.git.commit).toBeNull()
    expect(meta.machine.cores).toBeGreaterThan(0)
    expect(meta.machine.cpuModel.length).toBeGreaterThan(0)
    expect(meta.machine.node).toBe(process.version)
    expect(meta.loadAverageStart).toHaveLength(3)
    expect(meta.loadAverageEnd).toHaveLength(3)
    expect(meta.baselinesEnd).not.toBeNull()
    const header = describeRun(meta).join('\n')
    expect(header).toContain('commit unknown (no git)')
    expect(header).toContain(`${meta.machine.cores} cores`)
    expect(header).toContain('load average')
    expect(header).toContain('ecdsa sign')
    expect(JSON.parse(JSON.stringify(meta))).toEqual(meta)
  })
})
