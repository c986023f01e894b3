import { renameSync, rmSync } from 'node:fs'
import { join, parse } from 'node:path'
import electronLog from 'electron-log/node'
import { LOG_LEVELS, type LogLevel } from '../../shared/contract/settings.js'

export { LOG_LEVELS }

type LogFields = Record<string, unknown>

/** Structured logging: one JSON object per line, a component name on every line. */
export interface Logger {
  error(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  debug(msg: string, fields?: LogFields): void
  child(component: string): Logger
  /** Changes the level of this logger and every logger of its tree (parent and children alike). */
  setLevel(level: LogLevel): void
}

export interface LoggerInit {
  /** Where the log file goes; nothing is written to disk without it. */
  logDir?: string
  fileName?: string
  level?: LogLevel
  /** Mirror lines to stderr (the daemon under systemd); off by default. */
  console?: boolean
  /** Rotate when the file passes this size; keeps `maxFiles` archives. */
  maxSizeBytes?: number
  maxFiles?: number
  /** Also hand every line written to this function (a test reading what was logged). */
  sink?: (line: string) => void
}

const DEFAULT_MAX_SIZE = 10 * 1024 * 1024
const DEFAULT_MAX_FILES = 5

/** Stack lines kept per error, and causes followed: enough to find the line, never a wall. */
const STACK_MAX = 4_000
const CAUSES_MAX = 5
/** Of an AggregateError's errors, the first few are kept (each with its own stack and causes). */
const AGGREGATE_MAX = 5

/** Whatever was thrown or given as a cause that is not an Error: kept readable, never `[object Object]`. */
function serialiseThrown(value: unknown): unknown {
  if (typeof value === 'string') return value.slice(0, 500)
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return value.toString()
  try {
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json.slice(0, 500)
  } catch {
    return String(value).slice(0, 500)
  }
}

/** Errors serialised for one field at most (causes and aggregated errors together): one line, never megabytes. */
const ERRORS_PER_FIELD = 16

/** An error as a log field: its name, message, code, stack, its chain of causes, and an AggregateError's errors. */
function serialiseError(err: Error, depth = 0, budget = { left: ERRORS_PER_FIELD }): Record<string, unknown> {
  budget.left--
  const out: Record<string, unknown> = { name: err.name, message: err.message }
  const code = (err as { code?: unknown }).code
  if (code !== undefined) out.code = code
  if (err.stack) out.stack = err.stack.slice(0, STACK_MAX)
  const nested = (value: unknown): unknown => {
    if (!(value instanceof Error)) return serialiseThrown(value)
    return depth < CAUSES_MAX && budget.left > 0 ? serialiseError(value, depth + 1, budget) : `${value.name}: ${value.message}`.slice(0, 500)
  }
  // The cause first: it is what a chain of wrappers is read for.
  const cause = (err as { cause?: unknown }).cause
  if (cause !== undefined) out.cause = nested(cause)
  if (err instanceof AggregateError && Array.isArray(err.errors)) {
    out.errors = err.errors.slice(0, AGGREGATE_MAX).map(nested)
    if (err.errors.length > AGGREGATE_MAX) out.errorsOmitted = err.errors.length - AGGREGATE_MAX
  }
  return out
}

/** At any depth of the fields (an error inside an object or a list too): errors with their stacks, bigints as strings. */
function serialise(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serialiseError(value)
  if (typeof value === 'bigint') return value.toString()
  return value
}

function jsonLine(level: LogLevel, component: string, msg: string, fields?: LogFields): string {
  const entry: Record<string, unknown> = { ts: new Date().toISOString(), level, component, msg, ...fields }
  try {
    return JSON.stringify(entry, serialise)
  } catch {
    return JSON.stringify({ ts: entry.ts, level, component, msg, note: 'fields were not serialisable' })
  }
}

/** Shift `name.1.log` … `name.(n-1).log` up one and move the full file to `name.1.log`. */
function rotate(path: string, maxFiles: number): void {
  const { dir, name, ext } = parse(path)
  const archive = (i: number): string => join(dir, `${name}.${i}${ext}`)
  try {
    rmSync(archive(maxFiles), { force: true })
    for (let i = maxFiles - 1; i >= 1; i--) {
      try {
        renameSync(archive(i), archive(i + 1))
      } catch {
        // that archive does not exist yet
      }
    }
    renameSync(path, archive(1))
  } catch {
    // Rotation failing must never stop logging; the file keeps growing until the next try.
  }
}

type ElectronLogInstance = ReturnType<typeof electronLog.create>
// electron-log keeps every instance in a static registry keyed by logId, so instances are
// reused per log file: an engine restarted a thousand times makes one, not a thousand.
const instances = new Map<string, ElectronLogInstance>()

function electronLogFor(init: LoggerInit): ElectronLogInstance | null {
  if (!init.logDir && !init.console) return null
  const filePath = init.logDir ? join(init.logDir, init.fileName ?? 'engine.log') : ''
  const key = `${filePath}|${init.console ? 'console' : ''}`
  let instance = instances.get(key)
  if (!instance) {
    instance = electronLog.create({ logId: `bsv-p2p:${key}` })
    instances.set(key, instance)
  }
  const maxFiles = init.maxFiles ?? DEFAULT_MAX_FILES
  const file = instance.transports.file
  if (filePath) {
    // Our own threshold filters (and can change at run time); the transport passes everything on.
    file.level = 'debug'
    file.format = '{text}'
    file.maxSize = init.maxSizeBytes ?? DEFAULT_MAX_SIZE
    file.resolvePathFn = () => filePath
    file.archiveLogFn = (old) => rotate(old.toString(), maxFiles)
  } else {
    file.level = false
  }
  const consoleTransport = instance.transports.console
  if (init.console) {
    consoleTransport.level = 'debug'
    consoleTransport.format = '{text}'
    watchStderr()
    consoleTransport.writeFn = ({ message }) => {
      if (stderrGone || process.stderr.destroyed) return
      try {
        process.stderr.write(`${String(message.data[0])}\n`)
      } catch {
        stderrGone = true
      }
    }
  } else {
    consoleTransport.level = false
  }
  return instance
}

/**
 * Standard error can go away under a running process (its reader exited: a supervisor, a
 * closed pipe, a killed `tee`). Then the log goes to its file alone. A failed write must
 * never become an error of its own: logged, it would be written to the same dead stream,
 * fail again, and spin for ever.
 */
let stderrGone = false
let stderrWatched = false
function watchStderr(): void {
  if (stderrWatched) return
  stderrWatched = true
  process.stderr.on('error', () => {
    stderrGone = true
  })
}

const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

export function createLogger(init: LoggerInit = {}, component = 'engine'): Logger {
  const electron = electronLogFor(init)
  const capture = init.sink
  const sink: ((level: LogLevel, line: string) => void) | null =
    electron || capture
      ? (level, line) => {
          electron?.[level](line)
          capture?.(line)
        }
      : null
  // One threshold for the whole tree, so a level set through any child applies everywhere.
  const tree = { threshold: LEVEL_RANK[init.level ?? 'info'] }
  const make = (name: string): Logger => {
    const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (!sink || LEVEL_RANK[level] > tree.threshold) return
      sink(level, jsonLine(level, name, msg, fields))
    }
    return {
      error: (m, f) => write('error', m, f),
      warn: (m, f) => write('warn', m, f),
      info: (m, f) => write('info', m, f),
      debug: (m, f) => write('debug', m, f),
      child: (sub) => make(`${name}.${sub}`),
      setLevel: (level) => {
        tree.threshold = LEVEL_RANK[level]
      },
    }
  }
  return make(component)
}

/** A logger that writes nothing, for parts built without one (unit tests of pure logic). */
export const silentLogger: Logger = createLogger({})
