import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { silentLogger, type Logger } from '../../telemetry/index.js'
import { Metrics } from '../../telemetry/metrics.js'
import { P2PNode, type P2PNodeInit } from '../node.js'

export { freePort } from '../../../test/helpers/processes.js'

/** Temp dirs made by a test file; `cleanup()` removes them all. */
export class TempDirs {
  private readonly dirs: string[] = []
  make(prefix = 'p2p-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }
  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15_000, stepMs = 25): Promise<number> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(stepMs)
  }
  return Date.now() - start
}

function nodeInit(dataDir: string, overrides: Partial<P2PNodeInit> = {}): P2PNodeInit {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    relays: [],
    announce: [],
    mdns: false,
    pubsub: false,
    limits: {
      maxConnections: 100,
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 20,
      peerDirectoryMax: 1000,
      peerDirectoryTtlMs: 60 * 60 * 1000,
    },
    relayKeeper: { baseDelayMs: 250, maxDelayMs: 2000, dialTimeoutMs: 5000, breakerThreshold: 5, checkIntervalMs: 5000 },
    ...overrides,
  }
}

export function makeNode(dataDir: string, overrides: Partial<P2PNodeInit> = {}, components: { metrics?: Metrics; logger?: Logger } = {}): P2PNode {
  return new P2PNode({ logger: components.logger ?? silentLogger, metrics: components.metrics ?? new Metrics() }, nodeInit(dataDir, overrides))
}

/** Collects MaxListenersExceeded (and any other) process warnings while a test runs. */
export function watchWarnings(): { warnings: Error[]; stop: () => void } {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => {
    warnings.push(w)
  }
  process.on('warning', onWarning)
  return { warnings, stop: () => process.off('warning', onWarning) }
}

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug'
  component: string
  msg: string
  fields: Record<string, unknown> | undefined
}

/** A logger that keeps its lines in memory, so tests can check what was (not) logged. */
export function captureLogger(lines: LogLine[] = [], component = 'test'): Logger & { lines: LogLine[] } {
  const write = (level: LogLine['level']) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, component, msg, fields })
  }
  return {
    lines,
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    child: (sub: string) => captureLogger(lines, `${component}.${sub}`),
    // Keeps every level, so a test sees what was logged whatever the level is set to.
    setLevel: () => {},
  }
}
