// The npm scripts a newcomer runs, as they run them: `npm run devnet`, `relay` and `daemon`
// started at the same instant from a clean dist/, ten times. Each builds the hosts while the
// others may already be loading them; every process must start (a half-written bundle
// once made a daemon exit 0 before it printed a thing).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from './helpers/processes.js'

const ROUNDS = 10
const work = tempDir('bsv-p2p-scripts-')
afterAll(() => work.remove())

/** A copy of what the scripts build from, so this test's clean dist/ is its own. */
function projectCopy(name = 'project'): string {
  const dir = join(work.path, name)
  mkdirSync(dir)
  for (const part of ['package.json', 'scripts', 'main', 'shared']) cpSync(join(ROOT, part), join(dir, part), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

function npmRun(cwd: string, script: string, args: string[]): { child: ChildProcess; first: Promise<string>; exited: Promise<number | string> } {
  // Its own process group, so the npm wrapper and the node it starts stop together.
  const child = spawn('npm', ['run', '-s', script, '--', ...args], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000)
  })
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const first = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', (line) => resolve(line))
    void exited.then((code) => reject(new Error(`npm run ${script} exited (${code}) before printing:\n${err}`)))
  })
  return { child, first, exited }
}

describe('npm run devnet, relay and daemon', () => {
  it(`${ROUNDS} times, all four started at the same instant from a clean dist/: every one starts`, async () => {
    const project = projectCopy()
    for (let round = 0; round < ROUNDS; round++) {
      rmSync(join(project, 'dist'), { recursive: true, force: true })
      const data = join(work.path, `round-${round}`)
      const procs = [
        npmRun(project, 'devnet', ['--port', '0', '--block-interval-ms', '0', '--log-level', 'warn']),
        npmRun(project, 'relay', ['--port', '0', '--host', '127.0.0.1', '--data-dir', join(data, 'relay'), '--log-level', 'warn']),
        ...['a', 'b'].map((name) =>
          npmRun(project, 'daemon', ['--network', 'devnet', '--data-dir', join(data, name), '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', '--log-level', 'warn']),
        ),
      ]
      try {
        const lines = await Promise.all(procs.map((p) => p.first))
        expect(lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(lines[1]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
        for (const line of lines.slice(2)) expect(JSON.parse(line)).toMatchObject({ ready: true })
      } finally {
        for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) process.kill(-p.child.pid!, 'SIGKILL')
        await Promise.all(procs.map((p) => p.exited))
      }
    }
  }, 15 * 60_000)

  it('a bundled host leaves a V8 code cache, the next start takes it, and a damaged cache is replaced, not fatal', () => {
    const project = projectCopy('code-cache')
    execFileSync('npm', ['run', '-s', 'build:hosts'], { cwd: project, stdio: 'ignore' })
    const cacheDir = join(work.path, 'code-cache-dir')
    const help = (): string =>
      execFileSync(process.execPath, [join(project, 'dist', 'daemon', 'cli.js'), '--help'], { env: { ...process.env, BSV_P2P_CODE_CACHE_DIR: cacheDir }, encoding: 'utf8' })
    const cacheFile = (): { path: string; mtimeMs: number; size: number } => {
      const files = readdirSync(cacheDir).filter((f) => f.endsWith('.v8'))
      expect(files).toHaveLength(1)
      const path = join(cacheDir, files[0]!)
      return { path, ...statSync(path) }
    }
    const text = help()
    expect(text).toMatch(/--data-dir/)
    const first = cacheFile()
    expect(first.size).toBeGreaterThan(100_000)
    // Taken, not rewritten: V8 accepted it (a rejected cache is written again).
    expect(help()).toBe(text)
    expect(cacheFile().mtimeMs).toBe(first.mtimeMs)
    // Garbage in the cache file: V8 refuses it, the host runs as without one and writes a good one.
    writeFileSync(first.path, Buffer.alloc(4096, 0x5a))
    expect(help()).toBe(text)
    expect(cacheFile().size).toBeGreaterThan(100_000)
  }, 120_000)
})
