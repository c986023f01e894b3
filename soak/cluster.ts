// The soak's processes: a devnet, a relay that flaps and daemons that may be restarted, all
// on 127.0.0.1, every one tracked so that none outlives the soak.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { HOST_ENTRIES, type Proc, firstLine, runEntry } from '../test/helpers/processes.js'

/** Every child process alive, so that any way out (end, SIGINT, crash) stops them all. */
export class ProcessSet {
  private readonly live = new Set<Proc>()

  /** Tracked from the moment it is spawned, so a start that times out leaves nothing behind. */
  track<P extends Proc>(proc: P): P {
    this.live.add(proc)
    void proc.exited.then(() => this.live.delete(proc))
    return proc
  }

  /** Start an entry point and wait for its first stdout line; killed if it never comes. */
  async spawn(entry: string, args: string[], json: boolean, env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; line: string }> {
    const proc = this.track(runEntry(entry, args, { env }))
    try {
      const line = await firstLine(proc, 60_000, json)
      // Nobody reads stdout after the ready line: keep it flowing so a later write never blocks the child.
      proc.child.stdout?.resume()
      return { proc, line }
    } catch (err) {
      await proc.kill('SIGKILL')
      throw err
    }
  }

  get size(): number {
    return this.live.size
  }

  /** SIGTERM to all, SIGKILL to whatever is still there after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    const procs = [...this.live]
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
    const deadline = new Promise((r) => setTimeout(r, graceMs).unref())
    await Promise.race([Promise.all(procs.map((p) => p.exited)), deadline])
    this.killAllSync()
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000).unref())])
  }

  /** Synchronous last resort (process 'exit' handler). */
  killAllSync(): void {
    for (const p of this.live) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        try {
          p.child.kill('SIGKILL')
        } catch {
          // already gone
        }
      }
    }
  }
}

export interface CallResult<T> {
  ok: boolean
  result?: T
  error?: { code: string; message: string }
}

/** One daemon of the soak, across its restarts (same data dir, same P2P port, same identity). */
export class SoakDaemon {
  proc: (Proc & { apiUrl: string; token: string; peerId: string }) | null = null
  /** Process lives: pid and when (ms since the soak began) each started. */
  readonly lives: { pid: number; startedAt: number }[] = []
  private stopping: Promise<void> | null = null

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly p2pPort: number,
    private readonly args: string[],
    private readonly procs: ProcessSet,
    /** Config sections that replace the soak's own (checked by the daemon at its start). */
    extraConfig: Record<string, unknown> = {},
  ) {
    writeFileSync(
      join(dataDir, 'config.json'),
      JSON.stringify({ wallet: { syncIntervalMs: 1000 }, chain: { pollIntervalMs: 2000 }, channels: { chainPollMs: 500 }, ...extraConfig }),
    )
  }

  get up(): boolean {
    return this.proc !== null && this.stopping === null
  }

  get peerId(): string {
    if (!this.proc) throw new Error(`${this.name} is not running`)
    return this.proc.peerId
  }

  get restarts(): number {
    return Math.max(0, this.lives.length - 1)
  }

  async start(now: number): Promise<void> {
    const args = ['--data-dir', this.dataDir, '--network', 'devnet', '--p2p-host', '127.0.0.1', '--p2p-port', String(this.p2pPort), '--api-port', '0', '--no-mdns', '--log-level', 'info', ...this.args]
    const { proc: started, line } = await this.procs.spawn(HOST_ENTRIES.daemon, args, true, { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() })
    const ready = JSON.parse(line) as { apiUrl: string; peerId: string }
    const token = readFileSync(join(this.dataDir, 'api-token'), 'utf8').trim()
    const proc = { ...started, apiUrl: ready.apiUrl, peerId: ready.peerId, token }
    this.proc = proc
    this.lives.push({ pid: proc.child.pid ?? -1, startedAt: now })
  }

  /** Graceful stop; SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const proc = this.proc
    if (!proc) return
    this.stopping = (async () => {
      proc.child.kill('SIGTERM')
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs)
      await proc.exited
      clearTimeout(timer)
    })()
    try {
      await this.stopping
    } finally {
      this.proc = null
      this.stopping = null
    }
  }

  /** The direct TCP address other daemons dial. */
  directAddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.p2pPort}/p2p/${this.peerId}`
  }

  async call<T>(method: string, params: unknown, signal: AbortSignal, timeoutMs = 30_000): Promise<CallResult<T>> {
    const proc = this.proc
    if (!proc) return { ok: false, error: { code: 'soak_down', message: `${this.name} is down` } }
    const res = await fetch(`${proc.apiUrl}/api/${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${proc.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(params),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    })
    return (await res.json()) as CallResult<T>
  }

  async metricsText(signal: AbortSignal, timeoutMs = 5000): Promise<string | null> {
    const proc = this.proc
    if (!proc) return null
    const res = await fetch(`${proc.apiUrl}/metrics`, {
      headers: { Authorization: `Bearer ${proc.token}` },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    })
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
    return res.text()
  }
}

/** The relay: killed and brought back on the same port and data dir (same identity). */
export class SoakRelay {
  proc: Proc | null = null
  multiaddr = ''

  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly procs: ProcessSet,
  ) {}

  async start(): Promise<void> {
    const { proc, line } = await this.procs.spawn(HOST_ENTRIES.relay, ['--data-dir', this.dataDir, '--port', String(this.port), '--host', '127.0.0.1', '--log-level', 'info'], false)
    this.proc = proc
    if (this.multiaddr && line !== this.multiaddr) throw new Error(`relay came back as ${line}, not ${this.multiaddr}`)
    this.multiaddr = line
  }

  async kill(): Promise<void> {
    const proc = this.proc
    this.proc = null
    if (proc) await proc.kill('SIGKILL')
  }
}

/** A devnet chain (in memory); returns its URL. */
export async function startSoakDevnet(procs: ProcessSet): Promise<string> {
  const { line } = await procs.spawn(HOST_ENTRIES.devnet, ['--host', '127.0.0.1', '--port', '0', '--block-interval-ms', '0'], false)
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(line)) throw new Error(`unexpected devnet output: ${line}`)
  return line
}
