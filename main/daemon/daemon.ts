import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ConfigSource, EngineConfig } from '../config/index.js'
import { Engine, EngineHost } from '../engine/index.js'
import { writeFileAtomically } from '../store/index.js'
import type { Startable } from '../kit/index.js'
import { type Logger, Metrics, createLogger } from '../telemetry/index.js'
import type { Keystore } from '../wallet/index.js'
import { VERSION } from '../version.js'
import { ApiServer } from './api-server.js'
import { loadOrCreateApiToken } from './api-token.js'
import { WebUi } from './web-ui.js'

const DAEMON_INFO_FILE = 'daemon.json'

export interface DaemonInfo {
  pid: number
  version: string
  peerId: string
  apiUrl: string
  multiaddrs: string[]
}

/**
 * The headless host: the engine plus its HTTP API. While running it keeps
 * `<data-dir>/daemon.json` (pid, API URL, peer id) for scripts and probes.
 */
export class Daemon implements Startable {
  readonly host: EngineHost
  readonly api: ApiServer
  readonly logger: Logger
  /** The daemon's own metrics (API requests, uncaught errors): they outlive an engine restart. */
  readonly metrics = new Metrics()
  private offRestarted: (() => void) | null = null

  constructor(
    readonly config: EngineConfig,
    secrets: { walletPassphrase?: string; walletKeystore?: Keystore; walletScryptLogN?: number } = {},
    configSource?: ConfigSource,
    /** The configuration as it is now, for a restart; default: the one given. */
    reload: () => EngineConfig = () => config,
  ) {
    // One logger tree for the daemon and every engine it runs, so a log level set from the
    // UI applies to all of it, before and after a restart.
    const logger = createLogger({ logDir: join(config.dataDir, 'logs'), level: config.logLevel, console: config.logToConsole })
    this.logger = logger.child('daemon')
    this.host = new EngineHost({
      config,
      reload,
      build: (engineConfig, events) => new Engine({ config: engineConfig, ...secrets, configSource, logger, events }),
      logger: this.logger,
    })
    const token = loadOrCreateApiToken(config.dataDir)
    this.api = new ApiServer(
      {
        handlers: this.host.handlers,
        events: this.host.events,
        health: () => this.engine.health(),
        ready: () => this.engine.running,
        metrics: this.metrics,
        engineMetrics: () => this.engine.metrics,
        logger: logger.child('api'),
      },
      {
        host: config.api.host,
        port: config.api.port,
        token,
        maxBodyBytes: config.api.maxBodyBytes,
        maxConnections: config.api.maxConnections,
        maxWaitingConnections: config.api.maxWaitingConnections,
        allowedOrigins: config.api.allowedOrigins,
        webUi: new WebUi(),
      },
    )
  }

  /** The engine running now; a restart from the UI replaces it. */
  get engine(): Engine {
    return this.host.current
  }

  async start(): Promise<void> {
    await this.host.start()
    try {
      await this.api.start()
    } catch (err) {
      await this.host.stop().catch(() => {})
      throw err
    }
    this.writeInfo()
    // A restart may move the P2P addresses (port 0): keep daemon.json true.
    this.offRestarted = this.host.events.on('restarted', () => this.writeInfo())
  }

  async stop(): Promise<void> {
    this.offRestarted?.()
    this.offRestarted = null
    rmSync(join(this.config.dataDir, DAEMON_INFO_FILE), { force: true })
    try {
      await this.api.stop()
    } finally {
      await this.host.stop()
    }
  }

  info(): DaemonInfo {
    return {
      pid: process.pid,
      version: VERSION,
      peerId: this.engine.p2p.peerId,
      apiUrl: this.api.url,
      multiaddrs: this.engine.p2p.multiaddrs(),
    }
  }

  /**
   * Written before the first request can be answered: a restore checks it to refuse while
   * the daemon runs. Not flushed: after a power cut it names no running process anyway.
   */
  private writeInfo(): void {
    const path = join(this.config.dataDir, DAEMON_INFO_FILE)
    writeFileAtomically(path, `${JSON.stringify(this.info(), null, 2)}\n`, 0o600, { flush: false })
  }
}
