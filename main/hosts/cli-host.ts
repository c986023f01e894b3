// The one scaffold of the headless hosts (daemon, relay, devnet): the command line read from
// a table, the start, the stop on a signal within a deadline, and the exit code. A host's
// cli.ts is its option table and what it starts. Only entry points import this folder.
import '../polyfill.js'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { Logger } from '../telemetry/index.js'

/**
 * Exit codes, the same for every host. 2 means "fix how it is started" (a supervisor must
 * not restart it in a loop: systemd's RestartPreventExitStatus=2); 3 means the stop did not
 * finish (it overran its deadline or a second signal cut it short).
 */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_REFUSED = 2
export const EXIT_STOP_OVERRAN = 3

const EXIT_CODES_HELP = 'Exit codes: 0 stopped, 1 failed, 2 refused to start (fix how it is started), 3 the stop overran\nits deadline (or a second signal cut it short).'

/** A stop not done within this is cut short (exit 3), unless `--stop-deadline-ms` says otherwise. */
const DEFAULT_STOP_DEADLINE_MS = 4500
/** What must close cleanly (the daemon's database) gets this long once a stop is cut short. */
const LAST_RESORT_MS = 2000
/**
 * A terminal's Ctrl-C reaches every process of its group and a wrapper (npm) may forward it
 * again: a repeat this soon is the same request, not a second one.
 */
const REPEAT_GRACE_MS = 500

interface CliOption {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** What the value is called in the help: `--port N`. */
  value?: string
  /** The help line; a `\n` continues it on the next line, aligned. */
  help: string
  /** Checks and converts the raw text; its default applies when the option is absent. */
  schema?: z.ZodType
}

export type OptionTable = Record<string, CliOption>

type RawValue<O extends CliOption> = O['type'] extends 'boolean' ? boolean | undefined : O['multiple'] extends true ? string[] | undefined : string | undefined

/** The parsed command line: an option's schema output, else its raw value. */
export type ArgsOf<T extends OptionTable> = { [K in keyof T]: T[K] extends { schema: infer S extends z.ZodType } ? z.output<S> : RawValue<T[K]> }

/** A whole number within bounds, from the text of an option. */
export const intArg = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

/** A command line that cannot be read: one line on stderr, exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Ends the host with `code`, its message on stderr (after an orderly stop when it runs). */
export class HostExit extends Error {
  override readonly name = 'HostExit'
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** What a host runs, as the scaffold drives it. */
export interface RunningHost {
  logger: Logger
  start(): Promise<void>
  stop(): Promise<void>
  /** Once started (and not stopping): print the ready line, and so on. A throw stops the host (HostExit names the code). */
  ready?(): Promise<void> | void
  /** When a stop is cut short: the one thing that must still end cleanly (the daemon's database). */
  lastResort?(): Promise<void>
  /** Told of each error that reached the top level, before the stop it causes (the daemon counts them). */
  onUncaught?(kind: 'exception' | 'rejection'): void
}

export interface HostSpec<T extends OptionTable> {
  /** The prefix of its lines on stderr, e.g. `bsv-p2p daemon`. */
  name: string
  /** e.g. `npm run relay -- [options]` */
  usage: string
  /** Said after the options in `--help`. */
  epilog?: string
  options: T
  /** Errors a person fixes by starting it differently: exit 2 (never a restart loop). */
  isRefusal?: (err: unknown) => boolean
  /** Builds the host (nothing started yet). A number ends the process with that code: one-shot commands. */
  create(args: ArgsOf<T>): Promise<RunningHost | number> | RunningHost | number
}

/** The scaffold's own options, added to every host's table. */
const COMMON_OPTIONS = {
  'stop-deadline-ms': {
    type: 'string',
    value: 'N',
    help: `a stop not done in N ms is cut short: exit 3 (default ${DEFAULT_STOP_DEADLINE_MS})`,
    schema: intArg(1, 10 * 60 * 1000).default(DEFAULT_STOP_DEADLINE_MS),
  },
  help: { type: 'boolean', short: 'h', help: 'this text' },
} as const satisfies OptionTable

type WithCommon<T extends OptionTable> = ArgsOf<T> & ArgsOf<typeof COMMON_OPTIONS>

/** `--help`, made from the option table. */
export function helpText(spec: Pick<HostSpec<OptionTable>, 'usage' | 'epilog' | 'options'>): string {
  const rows = Object.entries({ ...spec.options, ...COMMON_OPTIONS } as OptionTable).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`
    return { flag, help: `${o.help}${o.multiple ? ' (repeatable)' : ''}`.split('\n') }
  })
  const width = Math.min(26, Math.max(...rows.map((r) => r.flag.length))) + 2
  const lines = rows.flatMap(({ flag, help }) => {
    const [first, ...rest] = help
    const head = flag.length + 2 > width ? [`  ${flag}`, `  ${' '.repeat(width)}${first}`] : [`  ${flag.padEnd(width)}${first}`]
    return [...head, ...rest.map((l) => `  ${' '.repeat(width)}${l}`)]
  })
  return [`usage: ${spec.usage}`, '', ...lines, ...(spec.epilog ? ['', spec.epilog] : []), '', EXIT_CODES_HELP].join('\n')
}

/** Reads `argv` against the table (plus --stop-deadline-ms and --help); throws UsageError. */
export function parseCommandLine<T extends OptionTable>(options: T, argv: string[]): WithCommon<T> {
  const table = { ...options, ...COMMON_OPTIONS } as OptionTable
  let values: Record<string, unknown>
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(Object.entries(table).map(([name, o]) => [name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }])),
    }))
  } catch (err) {
    throw new UsageError(usageProblem(err as Error & { code?: string }))
  }
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, o] of Object.entries(table)) {
    if (!o.schema) {
      out[name] = values[name]
      continue
    }
    const parsed = o.schema.safeParse(values[name])
    if (parsed.success) out[name] = parsed.data
    else problems.push(`--${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '))
  return out as WithCommon<T>
}

/** node:util's messages suggest `--` tricks this program has no use for: say what is wrong, in one line. */
function usageProblem(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim()
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return `${option.replace(/ .*/, '')}: ${/argument missing/.test(err.message) ? 'needs a value' : 'takes no value'}`
  return err.message.split('\n')[0]!
}

/** The parts of `process` the scaffold uses; tests pass their own. */
export interface HostProcess {
  argv: string[]
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown
  on(event: 'uncaughtException', listener: (err: Error) => void): unknown
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown
  exit(code: number): void
}

/**
 * Runs a host to its end and resolves the code it exited with: the command line, its
 * creation, its start, then a stop on SIGINT/SIGTERM within `--stop-deadline-ms` (0; a stop
 * that overran or that a second signal cut short: 3), and on an error that reached the top
 * level (logged with its stack, then an orderly stop, 1).
 */
export function runHost<T extends OptionTable>(spec: HostSpec<T>, proc: HostProcess = process as unknown as HostProcess): Promise<number> {
  return new Promise<number>((resolveExit) => {
    let exited = false
    const exit = (code: number): void => {
      if (exited) return
      exited = true
      resolveExit(code)
      proc.exit(code)
    }
    const say = (text: string): void => void proc.stderr.write(`${spec.name}: ${text}\n`)
    void drive(spec, proc, exit, say)
  })
}

async function drive<T extends OptionTable>(spec: HostSpec<T>, proc: HostProcess, exit: (code: number) => void, say: (text: string) => void): Promise<void> {
  let args: WithCommon<T>
  try {
    args = parseCommandLine(spec.options, proc.argv.slice(2))
  } catch (err) {
    say(`${(err as Error).message} (--help lists the options)`)
    return exit(EXIT_REFUSED)
  }
  if (args.help) {
    proc.stdout.write(`${helpText(spec)}\n`)
    return exit(EXIT_OK)
  }
  let host: RunningHost
  try {
    const made = await spec.create(args)
    if (typeof made === 'number') return exit(made)
    host = made
  } catch (err) {
    if (err instanceof HostExit) say(err.message)
    else if (err instanceof UsageError || spec.isRefusal?.(err)) say((err as Error).message)
    else say(`failed to start: ${(err as Error).stack ?? String(err)}`)
    return exit(err instanceof HostExit ? err.code : err instanceof UsageError || spec.isRefusal?.(err) ? EXIT_REFUSED : EXIT_FAILED)
  }

  const log = host.logger
  const deadlineMs = args['stop-deadline-ms']
  let starting: Promise<void> = Promise.resolve()
  let stopping: Promise<void> | null = null
  let stopAskedAt = 0
  let codeAfterStop = EXIT_OK

  // Parts that hang must not keep the process: what must end cleanly gets a short while, then it goes.
  let cutting = false
  const cutShort = async (why: string): Promise<void> => {
    if (cutting) return
    cutting = true
    log.error(why, { deadlineMs })
    try {
      await Promise.race([host.lastResort?.(), new Promise((r) => setTimeout(r, LAST_RESORT_MS).unref())])
    } catch (err) {
      log.error('last-resort close failed', { err })
    }
    exit(EXIT_STOP_OVERRAN)
  }
  const stop = (why: string, code: number): void => {
    if (code !== EXIT_OK && codeAfterStop === EXIT_OK) codeAfterStop = code
    if (stopping) return
    log.info('stopping', { why })
    stopAskedAt = Date.now()
    const deadline = setTimeout(() => void cutShort('stop deadline passed; closing what must close and exiting'), deadlineMs)
    // A stop during start waits for start to settle, then stops what started.
    stopping = starting
      .catch(() => {})
      .then(() => host.stop())
      .then(
        () => {
          clearTimeout(deadline)
          log.info('stopped', { code: codeAfterStop })
          exit(codeAfterStop)
        },
        (err: unknown) => {
          clearTimeout(deadline)
          log.error('stop failed', { err })
          exit(EXIT_FAILED)
        },
      )
  }
  const onSignal = (signal: string): void => {
    if (!stopping) return stop(signal, EXIT_OK)
    if (Date.now() - stopAskedAt < REPEAT_GRACE_MS) return
    void cutShort(`${signal} again while stopping; closing what must close and exiting`)
  }
  const onUncaught = (kind: 'exception' | 'rejection', err: unknown): void => {
    host.onUncaught?.(kind)
    // The logger writes an error's stack and causes.
    log.error(kind === 'exception' ? 'uncaught exception' : 'unhandled rejection', { err })
    // A rejection nobody awaited (libp2p has let a few escape) leaves no code path half-run:
    // it is logged and counted, and the node keeps serving, as a crash loop would not. An
    // exception unwound a synchronous path at an unknown point: the host stops in order.
    if (kind === 'exception') stop('uncaught exception', EXIT_FAILED)
  }
  proc.on('SIGINT', () => onSignal('SIGINT'))
  proc.on('SIGTERM', () => onSignal('SIGTERM'))
  proc.on('uncaughtException', (err) => onUncaught('exception', err))
  proc.on('unhandledRejection', (reason) => onUncaught('rejection', reason))

  starting = host.start()
  try {
    await starting
  } catch (err) {
    log.error('failed to start', { err })
    const refused = spec.isRefusal?.(err) ?? false
    say(`failed to start: ${(err as Error).message}`)
    return exit(refused ? EXIT_REFUSED : EXIT_FAILED)
  }
  if (stopping) return
  try {
    await host.ready?.()
  } catch (err) {
    if (err instanceof HostExit) say(err.message)
    else {
      log.error('failed once started', { err })
      say((err as Error).message)
    }
    stop('not ready', err instanceof HostExit ? err.code : EXIT_FAILED)
  }
}
