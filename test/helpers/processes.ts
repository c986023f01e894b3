import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

export const ROOT = resolve(import.meta.dirname, '..', '..')

export function tempDir(prefix = 'bsv-p2p-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * A port for a process that must come back on the same one after a kill. A port from
 * `listen(0)` lies in the kernel's ephemeral range, where any outbound connection may take it as
 * its source port between the kill and the restart (CI saw exactly that); so the pick is random
 * below that range, where the kernel hands out nothing, and checked free by binding it now.
 */
export async function freePort(): Promise<number> {
  const [low, high] = reusablePortRange()
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1))
    if (handedOut.has(port)) continue
    if (!reserve(port)) continue
    if (await canBind(port)) {
      handedOut.add(port)
      return port
    }
    unreserve(port)
  }
  throw new Error(`no free port found in ${low}-${high} after 50 tries`)
}

const handedOut = new Set<number>()

/**
 * Ports handed out are also reserved across the test processes running at once (a file per
 * port, created exclusively): a port free while its daemon is down between a kill and its
 * restart could otherwise be handed to a test in another process (integration files run in
 * parallel), and the restart refused. A reservation whose process is gone is taken over;
 * this process's own go when it exits. (A daemon refused for a port in use has its port's
 * holders named in the error, from `ss`.)
 */
const RESERVATIONS = join(tmpdir(), 'bsv-p2p-test-ports')
const reservedHere: string[] = []
process.once('exit', () => {
  for (const file of reservedHere) rmSync(file, { force: true })
})

function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port))
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(RESERVATIONS, { recursive: true })
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      reservedHere.push(file)
      return true
    } catch (err) {
      // Where reservations cannot be made at all, the bind check below still guards.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true
      if (processAlive(Number(readFileText(file)))) return false
      rmSync(file, { force: true })
    }
  }
  return false
}

/** A reserved port that turned out taken by something outside the tests: another may try it later. */
function unreserve(port: number): void {
  const file = join(RESERVATIONS, String(port))
  const at = reservedHere.indexOf(file)
  if (at === -1) return
  reservedHere.splice(at, 1)
  rmSync(file, { force: true })
}

function readFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Below the ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), above the well-known and registered ports most services use. */
function reusablePortRange(): [number, number] {
  let ephemeralLow = 32_768
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    const n = Number(first)
    if (Number.isInteger(n) && n > 21_000) ephemeralLow = n
  } catch {
    // Not Linux: macOS and Windows start their ephemeral range at 49152, above this one.
  }
  return [20_000, ephemeralLow - 1]
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolveBind) => {
    const srv = createServer()
    srv.once('error', () => resolveBind(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolveBind(true)))
  })
}

export interface Proc {
  child: ChildProcess
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
  stderrTail: () => string
  kill: (signal?: NodeJS.Signals) => Promise<number | string>
}

/**
 * The hosts' entry points. Tests run the TypeScript sources through tsx (no build step);
 * the benchmarks switch to the bundles (`npm run build:hosts`) that `npm run daemon` runs.
 */
export const HOST_ENTRIES = { daemon: 'main/daemon/cli.ts', relay: 'main/relay/cli.ts', devnet: 'main/chain/devnet/cli.ts' }

export function useBundledHosts(): void {
  HOST_ENTRIES.daemon = 'dist/daemon/cli.js'
  HOST_ENTRIES.relay = 'dist/relay/cli.js'
  HOST_ENTRIES.devnet = 'dist/devnet/cli.js'
}

/** Run an entry point under Node: TypeScript through tsx, a built .js bundle directly. */
/**
 * Every child still running when this test process exits is killed: a test that timed out
 * or failed before its cleanup must not leave daemons behind on the machine.
 */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * `npm run profile` (bench/profile.ts) sets this: every process started here then writes a
 * CPU profile there when it exits. Node 20 refuses --cpu-prof in NODE_OPTIONS, so the flag
 * has to be on the command line of each child.
 */
export const CPU_PROFILE_DIR_ENV = 'BSV_P2P_CPU_PROF_DIR'

export function runEntry(entry: string, args: string[], opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Proc {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : []
  const profileDir = process.env[CPU_PROFILE_DIR_ENV]
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const child = spawn(process.execPath, [...profile, ...(opts.nodeArgs ?? []), ...loader, join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  let tail = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000)
  })
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1))
  })
  return {
    child,
    exited,
    stderrTail: () => tail,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** The first stdout line that parses as JSON (or any line when json is false), within a deadline. */
export async function firstLine(proc: Proc, timeoutMs = 30_000, json = true): Promise<string> {
  const rl = createInterface({ input: proc.child.stdout! })
  try {
    return await new Promise<string>((resolveLine, reject) => {
      const timer = setTimeout(() => {
        // Nobody will own a process that never said it was ready: it goes now.
        proc.child.kill('SIGKILL')
        reject(new Error(`no output within ${timeoutMs} ms; stderr: ${proc.stderrTail()}`))
      }, timeoutMs)
      rl.on('line', (line) => {
        if (json && !line.trim().startsWith('{')) return
        clearTimeout(timer)
        resolveLine(line.trim())
      })
      void proc.exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`process exited (${code}) before it was ready; stderr: ${proc.stderrTail()}`))
      })
    })
  } finally {
    rl.close()
  }
}

export interface DaemonProc extends Proc {
  apiUrl: string
  token: string
  peerId: string
  dataDir: string
  call: <T = unknown>(method: string, params?: unknown) => Promise<{ status: number; body: { ok: boolean; result?: T; error?: { code: string; message: string; details?: Record<string, unknown> } } }>
  health: () => Promise<Record<string, any>>
  /** The daemon's ready line (its addresses, and what a start-time restore did). */
  ready: Record<string, unknown>
}

export async function startDaemon(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, opts: { logLevel?: string | null } = {}): Promise<DaemonProc> {
  // Devnet unless the caller says otherwise (a later --network wins); pass --chain-url.
  // The log level is a flag unless the caller leaves it to the config file (logLevel: null).
  const logLevel = opts.logLevel === null ? [] : ['--log-level', opts.logLevel ?? 'debug']
  const proc = runEntry(HOST_ENTRIES.daemon, ['--data-dir', dataDir, '--network', 'devnet', '--p2p-host', '127.0.0.1', '--p2p-port', '0', '--api-port', '0', '--no-mdns', ...logLevel, ...args], { env })
  const ready = JSON.parse(await firstLine(proc).catch((err: Error) => Promise.reject(withPortHolders(err)))) as { apiUrl: string; peerId: string } & Record<string, unknown>
  const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim()
  const call: DaemonProc['call'] = async (method, params = {}) => {
    const res = await fetch(`${ready.apiUrl}/api/${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(params),
    })
    return { status: res.status, body: (await res.json()) as never }
  }
  const health = async () => (await (await fetch(`${ready.apiUrl}/health`)).json()) as Record<string, any>
  return { ...proc, apiUrl: ready.apiUrl, peerId: ready.peerId, token, dataDir, call, health, ready }
}

/**
 * A daemon refused because its port "is in use by another program": who holds it, as the
 * kernel sees it (`ss`), so a flaky collision names its culprit instead of only its port.
 */
function withPortHolders(err: Error): Error {
  const port = /(\d+) \([\w.]+\) is in use by another program/.exec(err.message)?.[1]
  if (!port) return err
  let holders: string
  try {
    holders = execFileSync('ss', ['-tanpe', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8', timeout: 5_000 })
  } catch (ssErr) {
    holders = `ss failed: ${(ssErr as Error).message}`
  }
  const pids = [...new Set([...holders.matchAll(/pid=(\d+)/g)].map((m) => m[1]!))]
  let owners = ''
  if (pids.length > 0) {
    try {
      owners = execFileSync('ps', ['-o', 'pid,ppid,etime,args', '-p', pids.join(',')], { encoding: 'utf8', timeout: 5_000 })
    } catch (psErr) {
      owners = `ps failed: ${(psErr as Error).message}`
    }
  }
  return new Error(`${err.message}\nsockets on port ${port} now:\n${holders}${owners}\nthis test process: ${process.pid}; its children: ${[...live].map((c) => c.pid).join(', ')}`, { cause: err })
}

/** Mines `blocks` blocks on the devnet at once. */
export async function mineBlocks(devnetUrl: string, blocks: number): Promise<void> {
  const res = await fetch(`${devnetUrl}/devnet/mine`, { method: 'POST', body: JSON.stringify({ blocks }) })
  if (res.status !== 200) throw new Error(`mine: ${res.status} ${await res.text()}`)
}

export interface RelayProc extends Proc {
  multiaddr: string
}

export async function startRelay(dataDir: string, port: number): Promise<RelayProc> {
  const proc = runEntry(HOST_ENTRIES.relay, ['--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'info'])
  const multiaddr = await firstLine(proc, 30_000, false)
  return { ...proc, multiaddr }
}

export interface DevnetProc extends Proc {
  url: string
}

/** A devnet chain as its own process, as `npm run devnet` runs it. */
export async function startDevnet(opts: { dataDir?: string; port?: number; blockIntervalMs?: number } = {}): Promise<DevnetProc> {
  // Tests mine on request: heights (and so channel expiries) move only when a test says so.
  const args = ['--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--block-interval-ms', String(opts.blockIntervalMs ?? 0)]
  if (opts.dataDir) args.push('--data-dir', opts.dataDir)
  const proc = runEntry(HOST_ENTRIES.devnet, args)
  const url = await firstLine(proc, 30_000, false)
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`unexpected devnet output: ${url}`)
  return { ...proc, url }
}

/** The sum of a Prometheus metric's samples (all label sets) in /metrics text. */
export function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && !l.startsWith('#'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

/** Poll a condition until it holds or the deadline passes; returns the elapsed ms. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** A tmpfs of `size` (e.g. '64m') mounted at `dir`; false where this process may not mount (not root). */
export function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
