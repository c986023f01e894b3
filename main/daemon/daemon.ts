import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ConfigSource, EngineConfig } from '../config/index.js'
import { Engine } from '../engine/index.js'
import { writeFileAtomically } from '../store/index.js'
import type { Startable } from '../lifecycle/index.js'
import type { Logger } from '../telemetry/index.js'
import type { Keystore } from '../wallet/index.js'
import { VERSION } from '../version.js'
import { ApiServer } from './api-server.js'
import { loadOrCreateApiToken } from './api-token.js'
import { WebUi } from './web-ui.js'

export const DAEMON_INFO_FILE = 'daemon.json'

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
  readonly engine: Engine
  readonly api: ApiServer
  readonly logger: Logger

  constructor(
    readonly config: EngineConfig,
    secrets: { walletPassphrase?: string; walletKeystore?: Keystore; walletScryptLogN?: number } = {},
    configSource?: ConfigSource,
  ) {
    this.engine = new Engine({ config, ...secrets, configSource })
    this.logger = this.engine.logger.child('daemon')
    const token = loadOrCreateApiToken(config.dataDir)
    this.api = new ApiServer(
      {
        handlers: this.engine.handlers,
        events: this.engine.events,
        health: () => this.engine.health(),
        ready: () => this.engine.running,
        metrics: this.engine.metrics,
        logger: this.engine.logger.child('api'),
      },
      {
        host: config.api.host,
        port: config.api.port,
        token,
        maxBodyBytes: config.api.maxBodyBytes,
        allowedOrigins: config.api.allowedOrigins,
        webUi: new WebUi(),
      },
    )
  }

  async start(): Promise<void> {
    await this.engine.start()
    try {
      await this.api.start()
    } catch (err) {
      await this.engine.stop().catch(() => {})
      throw err
    }
    this.writeInfo()
  }

  async stop(): Promise<void> {
    rmSync(join(this.config.dataDir, DAEMON_INFO_FILE), { force: true })
    try {
      await this.api.stop()
    } finally {
      await this.engine.stop()
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

  private writeInfo(): void {
    const path = join(this.config.dataDir, DAEMON_INFO_FILE)
    writeFileAtomically(path, `${JSON.stringify(this.info(), null, 2)}\n`, 0o600)
  }
}
