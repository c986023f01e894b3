import { Disposables, ListenerSet, type Startable, logListenerErrors } from '../kit/index.js'
import type { Logger } from '../telemetry/index.js'
import type { ChainLookup } from './chain.js'

export type ChainState = 'ok' | 'unavailable' | 'syncing'

export interface ChainHealth {
  state: ChainState
  height: number | null
  network: string
}

export interface ChainMonitorComponents {
  lookup: ChainLookup
  logger: Logger
  /** A health listener threw: reported where the engine reports every listener's failure (logged with its stack, counted); logged here if unset. */
  onListenerError?: (err: unknown) => void
}

export interface ChainMonitorInit {
  network: string
  /** How often the height is polled (default 10 s). */
  intervalMs?: number
}

/**
 * Knows whether the chain service answers and how high the chain is. It polls the
 * height, and anyone who talks to the chain (the wallet's sync) may report what it saw,
 * so an outage shows in health as soon as anything notices it, and recovery too.
 */
export class ChainMonitor implements Startable {
  private readonly intervalMs: number
  private disposables = new Disposables()
  private state: ChainState = 'syncing'
  private lastHeight: number | null = null
  private readonly listeners: ListenerSet<[ChainHealth]>
  private inflight: Promise<void> | null = null

  constructor(
    private readonly components: ChainMonitorComponents,
    private readonly init: ChainMonitorInit,
  ) {
    this.intervalMs = init.intervalMs ?? 10_000
    const onListenerError = components.onListenerError
    this.listeners = new ListenerSet('chain', onListenerError ? (_what, err) => onListenerError(err) : logListenerErrors(components.logger))
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    this.state = 'syncing'
    const controller = this.disposables.abortController()
    this.disposables.interval(() => void this.poll(controller.signal), this.intervalMs)
    // Never wait for the chain on start: the engine must come up without it.
    void this.poll(controller.signal)
  }

  async stop(): Promise<void> {
    await this.disposables.dispose()
    await this.inflight?.catch(() => {})
  }

  health(): ChainHealth {
    return { state: this.state, height: this.lastHeight, network: this.init.network }
  }

  get height(): number | null {
    return this.lastHeight
  }

  onChange(listener: (health: ChainHealth) => void): () => void {
    return this.listeners.add(listener)
  }

  /** The chain answered (with a height when known). */
  reportOk(height?: number): void {
    this.set('ok', height ?? this.lastHeight)
  }

  reportUnavailable(err: unknown): void {
    if (this.state !== 'unavailable') this.components.logger.warn('chain service unavailable', { err })
    this.set('unavailable', this.lastHeight)
  }

  /** Poll now; a poll already under way is shared, not doubled. */
  poll(signal?: AbortSignal): Promise<void> {
    if (this.inflight) return this.inflight
    const run = this.pollOnce(signal).finally(() => {
      this.inflight = null
    })
    this.inflight = run
    return run
  }

  private async pollOnce(signal?: AbortSignal): Promise<void> {
    try {
      const height = await this.components.lookup.height(signal)
      if (signal?.aborted) return
      if (this.state === 'unavailable') this.components.logger.info('chain service is back', { height })
      this.set('ok', height)
    } catch (err) {
      if (signal?.aborted) return
      this.reportUnavailable(err)
    }
  }

  private set(state: ChainState, height: number | null): void {
    if (state === this.state && height === this.lastHeight) return
    this.state = state
    this.lastHeight = height
    const snapshot = this.health()
    this.listeners.emit(snapshot)
  }
}
