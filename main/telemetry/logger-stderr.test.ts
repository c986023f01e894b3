import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const LOGGER = resolve(import.meta.dirname, 'logger.ts')

/**
 * A real child process logging to stderr and a file, whose stderr reader goes away (as
 * when a supervisor or a `tee` dies). Before the fix this spun for ever: each failed write
 * was an uncaught error, logged to the same dead stream.
 */
describe('a logger whose stderr goes away', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('keeps logging to its file, never throws, never spins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bsv-logger-'))
    dirs.push(dir)
    const script = join(dir, 'child.ts')
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(LOGGER)}
const log = createLogger({ logDir: ${JSON.stringify(dir)}, console: true, level: 'info' })
let uncaught = 0
process.on('uncaughtException', (err) => { uncaught++; log.error('uncaught exception', { err }) })
process.stdout.write('ready\\n')
let n = 0
const timer = setInterval(() => {
  log.info('line', { n: n++ })
  if (n === 200) {
    clearInterval(timer)
    process.stdout.write(JSON.stringify({ uncaught }) + '\\n')
  }
}, 5)
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let buffer = ''
    const ready = new Promise<void>((resolveReady) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8')
        const parts = buffer.split('\n')
        buffer = parts.pop() ?? ''
        for (const line of parts) {
          lines.push(line)
          if (line === 'ready') resolveReady()
        }
      })
    })
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    let code: number | null
    try {
      await ready
      // The reader of its stderr is gone.
      child.stderr.destroy()
      code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]).then((c) => (c === 'hung' ? -1 : c))
    } finally {
      child.kill('SIGKILL')
    }
    expect(code, 'the child exits by itself, having logged its 200 lines').toBe(0)
    expect(JSON.parse(lines.at(-1)!)).toEqual({ uncaught: 0 })
    const file = readFileSync(join(dir, 'engine.log'), 'utf8').trim().split('\n')
    expect(file.filter((l) => l.includes('"msg":"line"'))).toHaveLength(200)
    expect(file.some((l) => l.includes('uncaught'))).toBe(false)
  }, 30_000)
})
