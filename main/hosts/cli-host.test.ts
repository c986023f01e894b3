import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Logger } from '../telemetry/index.js'
import { EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_STOP_OVERRAN, HostExit, type HostProcess, type OptionTable, type RunningHost, helpText, intArg, parseCommandLine, runHost } from './cli-host.js'

const OPTIONS = {
  port: { type: 'string', value: 'N', help: 'the port', schema: intArg(0, 65535).default(7) },
  peer: { type: 'string', multiple: true, value: 'ADDR', help: 'a peer\nsecond line' },
  quiet: { type: 'boolean', help: 'say less' },
} as const satisfies OptionTable

class FakeProcess extends EventEmitter {
  out = ''
  err = ''
  codes: number[] = []
  stdout = { write: (t: string) => (this.out += t) }
  stderr = { write: (t: string) => (this.err += t) }
  constructor(readonly argv: string[]) {
    super()
  }
  exit(code: number): void {
    this.codes.push(code)
  }
}

function recordingLogger(): Logger & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields })
  const logger = { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger, setLevel: () => {} }
  return logger
}

/** A host whose start, stop and last resort the test controls. */
function fakeHost(opts: { stop?: () => Promise<void>; start?: () => Promise<void>; ready?: () => void } = {}) {
  const logger = recordingLogger()
  const calls: string[] = []
  const host: RunningHost = {
    logger,
    start: async () => {
      calls.push('start')
      await opts.start?.()
    },
    stop: async () => {
      calls.push('stop')
      await opts.stop?.()
    },
    ready: () => {
      calls.push('ready')
      opts.ready?.()
    },
    lastResort: async () => void calls.push('lastResort'),
    onUncaught: (kind) => void calls.push(`uncaught:${kind}`),
  }
  return { host, calls, logger }
}

function run(argv: string[], create: () => RunningHost | number | Promise<RunningHost | number>, isRefusal?: (err: unknown) => boolean) {
  const proc = new FakeProcess(['node', 'cli.js', ...argv])
  const exited = runHost({ name: 'testhost', usage: 'testhost [options]', options: OPTIONS, create, ...(isRefusal ? { isRefusal } : {}) }, proc as unknown as HostProcess)
  return { proc, exited }
}

const started = (calls: string[]) => vi.waitFor(() => expect(calls).toContain('ready'))
const never = () => new Promise<void>(() => {})

afterEach(() => {
  vi.useRealTimers()
})

describe('the command line', () => {
  it('makes --help from the table, with the common options, and exits 0 without creating the host', async () => {
    const create = vi.fn(() => fakeHost().host)
    const { proc, exited } = run(['--help'], create)
    expect(await exited).toBe(EXIT_OK)
    expect(create).not.toHaveBeenCalled()
    expect(proc.out).toBe(`${helpText({ usage: 'testhost [options]', options: OPTIONS })}\n`)
    expect(proc.out).toMatch(/^usage: testhost \[options\]$/m)
    expect(proc.out).toMatch(/^ {2}--port N +the port$/m)
    expect(proc.out).toMatch(/^ {2}--peer ADDR +a peer$\n^ +second line \(repeatable\)$/m)
    expect(proc.out).toMatch(/^ {2}--stop-deadline-ms N +a stop not done in N ms is cut short: exit 3/m)
    expect(proc.out).toMatch(/^Exit codes: 0 stopped, 1 failed, 2 refused to start/m)
    expect(proc.out).toMatch(/^ {2}-h, --help +this text$/m)
  })

  it('refuses an unknown option in one line and exits 2 without creating the host', async () => {
    const create = vi.fn(() => fakeHost().host)
    const { proc, exited } = run(['--port', '1', '--prot', '2'], create)
    expect(await exited).toBe(EXIT_REFUSED)
    expect(create).not.toHaveBeenCalled()
    expect(proc.err).toBe('testhost: unknown option --prot (--help lists the options)\n')
    expect(proc.codes).toEqual([EXIT_REFUSED])
  })

  it('refuses a value its schema refuses, a missing value and a positional, naming each', () => {
    expect(() => parseCommandLine(OPTIONS, ['--port', 'eighty'])).toThrow('--port: must be a whole number')
    expect(() => parseCommandLine(OPTIONS, ['--port', '70000'])).toThrow(/^--port: /)
    expect(() => parseCommandLine(OPTIONS, ['--port'])).toThrow('--port: needs a value')
    expect(() => parseCommandLine(OPTIONS, ['stray'])).toThrow('unexpected argument stray')
    expect(() => parseCommandLine(OPTIONS, ['--stop-deadline-ms', '0'])).toThrow(/^--stop-deadline-ms: /)
  })

  it('gives schema outputs with their defaults, and raw values for options without a schema', () => {
    expect(parseCommandLine(OPTIONS, [])).toEqual({ port: 7, peer: undefined, quiet: undefined, 'stop-deadline-ms': 4500, help: undefined })
    expect(parseCommandLine(OPTIONS, ['--port', '9', '--peer', 'a', '--peer', 'b', '--quiet', '--stop-deadline-ms', '50'])).toMatchObject({ port: 9, peer: ['a', 'b'], quiet: true, 'stop-deadline-ms': 50 })
  })
})

describe('the entry points', () => {
  it('import the polyfill before anything else (libp2p needs it on Node 20)', () => {
    const root = resolve(import.meta.dirname, '..', '..')
    for (const entry of ['main/daemon/cli.ts', 'main/relay/cli.ts', 'main/chain/devnet/cli.ts', 'main/electron/main.ts', 'main/hosts/cli-host.ts']) {
      const first = /^import\s+(?:[^'"]+from\s+)?['"]([^'"]+)['"]/m.exec(readFileSync(join(root, entry), 'utf8'))?.[1]
      expect({ entry, first: first && join(dirname(entry), first) }).toEqual({ entry, first: 'main/polyfill.js' })
    }
  })
})

describe('the lifecycle', () => {
  it('starts, says ready, and exits 0 after a stop that finishes on SIGTERM', async () => {
    const { host, calls } = fakeHost()
    const { proc, exited } = run([], () => host)
    await started(calls)
    proc.emit('SIGTERM')
    expect(await exited).toBe(EXIT_OK)
    expect(calls).toEqual(['start', 'ready', 'stop'])
  })

  it('exits 3 when the stop overruns its deadline, after the last resort', async () => {
    const { host, calls, logger } = fakeHost({ stop: never })
    const { proc, exited } = run(['--stop-deadline-ms', '20'], () => host)
    await started(calls)
    proc.emit('SIGINT')
    expect(await exited).toBe(EXIT_STOP_OVERRAN)
    expect(calls).toEqual(['start', 'ready', 'stop', 'lastResort'])
    expect(logger.lines.some((l) => l.level === 'error' && /stop deadline passed/.test(l.msg))).toBe(true)
    expect(proc.codes).toEqual([EXIT_STOP_OVERRAN])
  })

  it('takes a repeat of the signal at once as the same request, and a later second signal as "exit now" (3)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let finish = (): void => {}
    const { host, calls } = fakeHost({ stop: () => new Promise<void>((r) => (finish = r)) })
    const { proc, exited } = run(['--stop-deadline-ms', '600000'], () => host)
    await started(calls)
    proc.emit('SIGINT')
    proc.emit('SIGINT')
    await vi.waitFor(() => expect(calls).toContain('stop'))
    expect(calls).not.toContain('lastResort')
    vi.setSystemTime(Date.now() + 1000)
    proc.emit('SIGTERM')
    expect(await exited).toBe(EXIT_STOP_OVERRAN)
    expect(calls).toContain('lastResort')
    finish()
    await new Promise((r) => setImmediate(r))
    expect(proc.codes).toEqual([EXIT_STOP_OVERRAN])
  })

  it('logs an unhandled rejection and keeps running; logs an uncaught exception, then stops in order and exits 1', async () => {
    const { host, calls, logger } = fakeHost()
    const { proc, exited } = run([], () => host)
    await started(calls)
    const later = new Error('later')
    proc.emit('unhandledRejection', later)
    await new Promise((r) => setImmediate(r))
    expect(proc.codes).toEqual([])
    expect(calls).not.toContain('stop')
    expect(logger.lines.find((l) => l.msg === 'unhandled rejection')?.fields?.err).toBe(later)
    const boom = new Error('boom')
    proc.emit('uncaughtException', boom)
    expect(await exited).toBe(EXIT_FAILED)
    expect(calls.filter((c) => c === 'stop')).toHaveLength(1)
    expect(calls.filter((c) => c.startsWith('uncaught'))).toEqual(['uncaught:rejection', 'uncaught:exception'])
    expect(logger.lines.find((l) => l.msg === 'uncaught exception')?.fields?.err).toBe(boom)
  })

  it('waits for a start in progress before it stops what started', async () => {
    let startDone = (): void => {}
    const { host, calls } = fakeHost({ start: () => new Promise<void>((r) => (startDone = r)) })
    const { proc, exited } = run([], () => host)
    await vi.waitFor(() => expect(calls).toEqual(['start']))
    proc.emit('SIGTERM')
    await new Promise((r) => setImmediate(r))
    expect(calls).toEqual(['start'])
    startDone()
    expect(await exited).toBe(EXIT_OK)
    expect(calls).toEqual(['start', 'stop'])
  })

  it('exits 2 for a refusal and 1 for anything else when start fails, saying why', async () => {
    const refusal = new Error('wrong passphrase')
    const refused = run([], () => fakeHost({ start: () => Promise.reject(refusal) }).host, (err) => err === refusal)
    expect(await refused.exited).toBe(EXIT_REFUSED)
    expect(refused.proc.err).toBe('testhost: failed to start: wrong passphrase\n')
    const failed = run([], () => fakeHost({ start: () => Promise.reject(new Error('disk on fire')) }).host)
    expect(await failed.exited).toBe(EXIT_FAILED)
  })

  it('ends with the code a creation names (one-shot commands, refusals), starting nothing', async () => {
    expect(await run([], () => 0).exited).toBe(EXIT_OK)
    const refused = run([], () => {
      throw new HostExit(EXIT_REFUSED, 'no database in /x')
    })
    expect(await refused.exited).toBe(EXIT_REFUSED)
    expect(refused.proc.err).toBe('testhost: no database in /x\n')
  })

  it('stops in order with the code a failed ready step names', async () => {
    const { host, calls } = fakeHost({
      ready: () => {
        throw new HostExit(EXIT_REFUSED, 'restore refused: bad words')
      },
    })
    const { proc, exited } = run([], () => host)
    expect(await exited).toBe(EXIT_REFUSED)
    expect(calls).toEqual(['start', 'ready', 'stop'])
    expect(proc.err).toBe('testhost: restore refused: bad words\n')
  })
})
