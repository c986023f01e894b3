import { type ApiHandlers, ContractError, METHOD_NAMES, type MethodName, type Result } from '../../shared/contract/index.js'
import type { EngineConfig } from '../config/index.js'
import { type Startable, EventBus } from '../kit/index.js'
import { type Logger, contractChecks } from '../telemetry/index.js'
import type { Engine, EngineApi } from './engine.js'

export interface EngineHostInit {
  /** The configuration of the first engine. */
  config: EngineConfig
  /** The configuration as it is now, read again for each restart so settings saved since apply. */
  reload: () => EngineConfig
  /** Builds an engine from a configuration, on the host's event bus. */
  build: (config: EngineConfig, events: EventBus) => Engine
  logger: Logger
}

type Restarted = Result<'restartNode'>

/**
 * The engine as a host (daemon, desktop app) holds it: transports bind once to `handlers`
 * and `events`, which outlive any one engine, so `restartNode` can replace the engine in
 * place (saved relays and limits take effect) while the API, its WebSocket clients and the
 * app's window stay. A restart that cannot start the new engine starts the old one again.
 */
export class EngineHost implements Startable {
  readonly events = new EventBus({ checkPayloads: contractChecks() })
  readonly handlers: ApiHandlers
  private engine: Engine
  private restarting: Promise<Restarted> | null = null

  constructor(private readonly init: EngineHostInit) {
    this.engine = init.build(init.config, this.events)
    const forwarded: Partial<Record<MethodName, (params: never) => Promise<unknown>>> = {}
    for (const name of METHOD_NAMES) {
      if (name === 'restartNode') continue
      forwarded[name] = async (params: never) => {
        // Health stays readable (it says `down` while the engines swap); the rest waits.
        if (this.restarting && name !== 'getHealth') throw new ContractError('unavailable', 'the node is restarting; try again in a moment')
        return (this.engine.handlers[name] as (p: never) => Promise<unknown>)(params)
      }
    }
    // The engine's handlers lack `restartNode`: the host, which can build the next engine, is what restarts.
    this.handlers = { ...(forwarded as EngineApi), restartNode: async () => this.restart() }
  }

  /** The engine running now (or being swapped in). */
  get current(): Engine {
    return this.engine
  }

  async start(): Promise<void> {
    await this.engine.start()
  }

  async stop(): Promise<void> {
    await this.restarting?.catch(() => {})
    await this.engine.stop()
  }

  restart(): Promise<Restarted> {
    this.restarting ??= this.swap().finally(() => {
      this.restarting = null
    })
    return this.restarting
  }

  private async swap(): Promise<Restarted> {
    if (!this.engine.running) throw new ContractError('invalid_state', 'the node is not running')
    const log = this.init.logger
    const old = this.engine
    log.info('restarting the engine to apply saved settings')
    await old.stop()
    let next: Engine
    try {
      next = this.init.build(this.init.reload(), this.events)
      await next.start()
    } catch (err) {
      log.error('the restarted engine failed to start; starting the previous one again', { err })
      try {
        await old.start()
      } catch (again) {
        log.error('the previous engine failed to start again; the node is stopped', { err: again })
        throw new ContractError('unavailable', `the node is stopped: it could not start with the saved settings (${(err as Error).message}) nor with the old ones (${(again as Error).message})`)
      }
      throw new ContractError('invalid_state', `the node could not start with the saved settings (${(err as Error).message}); it runs on with the ones it had`)
    }
    this.engine = next
    const restarted: Restarted = { peerId: next.p2p.peerId, startedAt: new Date().toISOString() }
    log.info('engine restarted', restarted)
    this.events.emit('restarted', restarted)
    return restarted
  }
}
