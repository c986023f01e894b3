import type { Health, Peer } from '../../shared/contract/index.js'
import { Disposables, type Startable, type EventBus } from '../kit/index.js'

export type EngineChange = 'peers' | 'relay' | 'addresses' | 'chain' | 'channels' | 'store'

export interface HealthPublisherComponents {
  events: EventBus
  health: () => Health
  peers: () => Peer[]
  /** Changes from the parts; returns its unsubscribe. */
  subscribe: (listener: (change: EngineChange) => void) => () => void
}

export interface HealthPublisherInit {
  /** A `health` event at least this often, so uptime and memory stay fresh on screens. */
  intervalMs?: number
  /** Bursts of changes within this window make one event. */
  coalesceMs?: number
}

/**
 * Pushes `health` and `peers` events: on change (coalesced, so a flood of discoveries makes
 * one event per window, not thousands) and on an interval. The UI follows these events
 * instead of polling.
 */
export class HealthPublisher implements Startable {
  private disposables = new Disposables()
  private pendingPeers = false
  private pendingHealth = false
  private flushScheduled = false
  private lastStatus: Health['status'] | null = null
  private readonly intervalMs: number
  private readonly coalesceMs: number

  constructor(
    private readonly components: HealthPublisherComponents,
    init: HealthPublisherInit = {},
  ) {
    this.intervalMs = init.intervalMs ?? 2000
    this.coalesceMs = init.coalesceMs ?? 100
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    this.flushScheduled = false
    this.disposables.add(
      this.components.subscribe((change) => {
        if (change === 'peers') this.pendingPeers = true
        this.pendingHealth = true
        this.schedule()
      }),
    )
    this.disposables.interval(() => this.emitHealth(), this.intervalMs)
    this.emitHealth()
  }

  async stop(): Promise<void> {
    await this.disposables.dispose()
    this.pendingHealth = false
    this.pendingPeers = false
  }

  /** The last status pushed, for hosts that react to transitions (tray, logs). */
  get status(): Health['status'] | null {
    return this.lastStatus
  }

  private schedule(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.disposables.timeout(() => {
      this.flushScheduled = false
      this.flush()
    }, this.coalesceMs)
  }

  private flush(): void {
    if (this.pendingPeers) {
      this.pendingPeers = false
      this.components.events.emit('peers', this.components.peers())
    }
    if (this.pendingHealth) {
      this.pendingHealth = false
      this.emitHealth()
    }
  }

  private emitHealth(): void {
    const health = this.components.health()
    this.lastStatus = health.status
    this.components.events.emit('health', health)
  }
}
