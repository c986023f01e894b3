import { setMaxListeners } from 'node:events'
import type { Libp2p, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { z } from 'zod'
import type { RelayHealthSchema, RelayState } from '../../shared/contract/index.js'
import { Disposables, type Startable, CLOSED_BREAKER, nextDelay, recordFailure, recordSuccess, type BreakerState, listenerOf } from '../kit/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { describeError, parseRelayAddress } from './relay-address.js'
import { untilAborted, type RelayReservationStore, type ReservationEvents } from './relay-reservations.js'

export type RelayHealth = z.infer<typeof RelayHealthSchema>

/** Our own keep-alive tag on relay peers: protects them from the connection pruner. */
const RELAY_KEEP_ALIVE_TAG = 'keep-alive-relay-keeper'
/** Refresh a reservation when this much of it is left, at most (the transport's own margin). */
const MAX_REFRESH_MARGIN_MS = 5 * 60 * 1000
const MIN_REFRESH_DELAY_MS = 500
/**
 * The refresh of a reservation whose expiry (the relay's clock) is already past by ours: our
 * clock is ahead of the relay's by more than the reservation lasts, so its expiry says
 * nothing. The transport refreshes such a reservation every 30 s on its own.
 */
const SKEWED_REFRESH_MS = 60_000

export interface RelayKeeperComponents {
  libp2p: Libp2p
  /** null when the transport's store is out of reach: the keeper then only keeps the connection. */
  reservationStore: RelayReservationStore | null
  logger: Logger
  metrics: Metrics
}

export interface RelayKeeperInit {
  /** Full relay multiaddrs, each with /p2p/<relay id>. */
  relays: string[]
  baseDelayMs?: number
  maxDelayMs?: number
  dialTimeoutMs?: number
  breakerThreshold?: number
  checkIntervalMs?: number
  /** Source of jitter; tests pass a fixed one. Default Math.random. */
  random?: () => number
  /** Called on every state change of any relay (reserved, lost, attempt failed). */
  onChange?: () => void
}

interface RelayEntry {
  multiaddr: string
  addr: Multiaddr | null
  peerId: PeerId | null
  /** Why the configured address can never work (it is checked once, not redialled). */
  invalid: string | null
  attempts: number
  failures: number
  breaker: BreakerState
  lastError: string | undefined
  inFlight: boolean
  timer: ReturnType<typeof setTimeout> | null
  nextAttemptAt: number | null
  refreshTimer: ReturnType<typeof setTimeout> | null
  reservedSince: number | null
  lostAt: number | null
  /** Warned that the relay's expiry is already past by our clock (once per relay per run). */
  warnedSkew: boolean
}

/**
 * Keeps a reservation on each configured circuit relay, whatever the relay does.
 *
 * js-libp2p makes a reservation and refreshes it while the relay connection lives, but
 * nothing brings it back once the relay drops (js-libp2p #3601), and a failed dial marks a
 * relay as unusable. So the keeper owns the loop: dial the relay in the background (start
 * never waits), tag it keep-alive, ask the transport's reservation store for a reservation,
 * and on any loss (disconnect, `relay:removed`, the periodic check) redial with
 * exponential backoff and full jitter, one dial in flight per relay, each with a timeout.
 * A circuit breaker keeps a dead relay quiet in the logs. It also refreshes reservations
 * itself, because the transport refreshes no earlier than 30 s after making one: too
 * late for a relay whose reservation ttl is shorter.
 */
export class RelayKeeper implements Startable {
  private readonly entries: RelayEntry[]
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly dialTimeoutMs: number
  private readonly breakerThreshold: number
  private readonly checkIntervalMs: number
  private readonly random: () => number
  private readonly log: Logger
  private readonly metrics: ReturnType<typeof relayMetrics>
  private disposables: Disposables | null = null
  private readonly inFlight = new Set<AbortController>()
  /** Bumped on every start and stop, so an attempt that outlives its run changes nothing. */
  private generation = 0

  constructor(
    private readonly components: RelayKeeperComponents,
    private readonly init: RelayKeeperInit,
  ) {
    this.baseDelayMs = init.baseDelayMs ?? 250
    this.maxDelayMs = init.maxDelayMs ?? 2000
    this.dialTimeoutMs = init.dialTimeoutMs ?? 5000
    this.breakerThreshold = init.breakerThreshold ?? 5
    this.checkIntervalMs = init.checkIntervalMs ?? 5000
    this.random = init.random ?? Math.random
    this.log = components.logger.child('relay-keeper')
    this.metrics = relayMetrics(components.metrics)
    this.entries = init.relays.map((text) => parseRelay(text))
  }

  get running(): boolean {
    return this.disposables !== null
  }

  async start(): Promise<void> {
    if (this.disposables) return
    this.generation++
    for (const entry of this.entries) {
      entry.reservedSince = null
      entry.lostAt = null
      entry.breaker = CLOSED_BREAKER
      entry.inFlight = false
    }
    const d = (this.disposables = new Disposables())
    d.add(() => {
      for (const controller of this.inFlight) controller.abort(new Error('relay keeper stopped'))
      this.inFlight.clear()
      for (const entry of this.entries) {
        this.clearTimer(entry)
        this.clearRefresh(entry)
      }
    })
    const { libp2p, reservationStore } = this.components
    const onNode = listenerOf<Libp2pEvents>(d, libp2p)
    onNode('peer:disconnect', (evt) => {
      const entry = this.entryFor(evt.detail)
      if (entry) this.lost(entry, 'relay disconnected')
    })
    onNode('peer:connect', (evt) => {
      // Someone else (libp2p's reconnect queue, an incoming dial) reconnected the relay:
      // make the reservation now instead of at the next backoff tick.
      const entry = this.entryFor(evt.detail)
      if (entry && entry.reservedSince === null && !entry.inFlight) this.schedule(entry, 0)
    })
    if (reservationStore) {
      const onStore = listenerOf<ReservationEvents>(d, reservationStore)
      onStore('relay:created-reservation', (evt) => {
        const entry = this.entryFor(evt.detail.relay)
        if (entry) this.reserved(entry, true)
      })
      onStore('relay:removed', (evt) => {
        const entry = this.entryFor(evt.detail.relay)
        if (entry) this.lost(entry, 'reservation removed')
      })
    }
    d.interval(() => this.check(), this.checkIntervalMs)
    for (const entry of this.entries) {
      if (entry.invalid) {
        this.log.error('relay address is unusable; it will not be dialled', { relay: entry.multiaddr, error: entry.invalid })
      } else {
        this.schedule(entry, 0)
      }
      this.publishState(entry)
    }
  }

  async stop(): Promise<void> {
    const d = this.disposables
    this.disposables = null
    this.generation++
    await d?.dispose()
  }

  /** Overall state: reserved if any relay is, unavailable if every relay is, disabled with none. */
  state(): RelayState {
    if (this.entries.length === 0) return 'disabled'
    const states = this.entries.map((e) => this.entryState(e))
    if (states.includes('reserved')) return 'reserved'
    if (states.every((s) => s === 'unavailable')) return 'unavailable'
    return 'connecting'
  }

  health(): RelayHealth {
    const now = Date.now()
    return {
      state: this.state(),
      relays: this.entries.map((e) => ({
        multiaddr: e.multiaddr,
        state: this.entryState(e),
        attempts: e.attempts,
        failures: e.failures,
        ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
        ...(e.nextAttemptAt !== null ? { nextAttemptInMs: Math.max(0, Math.round(e.nextAttemptAt - now)) } : {}),
        ...(e.reservedSince !== null ? { reservedSince: new Date(e.reservedSince).toISOString() } : {}),
      })),
    }
  }

  private entryState(entry: RelayEntry): RelayState {
    if (entry.invalid) return 'unavailable'
    if (entry.reservedSince !== null) return 'reserved'
    return entry.breaker.open ? 'unavailable' : 'connecting'
  }

  private entryFor(peerId: PeerId): RelayEntry | undefined {
    return this.entries.find((e) => e.peerId?.equals(peerId) === true)
  }

  private schedule(entry: RelayEntry, delayMs: number): void {
    if (!this.running || entry.invalid) return
    this.clearTimer(entry)
    entry.nextAttemptAt = Date.now() + delayMs
    entry.timer = setTimeout(() => {
      entry.timer = null
      entry.nextAttemptAt = null
      void this.attempt(entry)
    }, delayMs)
    entry.timer.unref?.()
  }

  private clearTimer(entry: RelayEntry): void {
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = null
    entry.nextAttemptAt = null
  }

  private clearRefresh(entry: RelayEntry): void {
    if (entry.refreshTimer) clearTimeout(entry.refreshTimer)
    entry.refreshTimer = null
  }

  /**
   * One dial-and-reserve attempt. `refresh` asks the store for a new reservation even if
   * it holds one (the store keeps the old one advertised until the new one is in).
   */
  private async attempt(entry: RelayEntry, refresh = false): Promise<void> {
    if (!this.running || entry.inFlight || !entry.addr || !entry.peerId) return
    const generation = this.generation
    const current = (): boolean => this.running && this.generation === generation
    this.clearTimer(entry)
    entry.inFlight = true
    entry.attempts++
    this.metrics.attempts.inc({ relay: entry.multiaddr })
    const controller = new AbortController()
    setMaxListeners(Infinity, controller.signal)
    this.inFlight.add(controller)
    const timeout = setTimeout(() => controller.abort(new Error(`relay did not answer within ${this.dialTimeoutMs} ms`)), this.dialTimeoutMs)
    try {
      const { libp2p, reservationStore } = this.components
      await libp2p.dial(entry.addr, { signal: controller.signal })
      await libp2p.peerStore.merge(entry.peerId, { tags: { [RELAY_KEEP_ALIVE_TAG]: { value: 100 } } })
      // Asked for: the transport made or renewed it (it leaves alone one with over 10 min left).
      let asked = false
      if (reservationStore) {
        if (refresh || !reservationStore.hasReservation(entry.peerId)) {
          asked = true
          await untilAborted(reservationStore.addRelay(entry.peerId, 'discovered'), controller.signal)
        }
        if (!reservationStore.hasReservation(entry.peerId)) throw new Error('relay accepted the connection but holds no reservation for us')
      } else if (!this.hasCircuitAddress(entry)) {
        throw new Error('connected to the relay but no circuit address appeared')
      }
      if (!current()) return
      this.reserved(entry, asked)
    } catch (err) {
      if (!current()) return
      this.failed(entry, err)
    } finally {
      clearTimeout(timeout)
      this.inFlight.delete(controller)
      if (this.generation === generation) entry.inFlight = false
    }
  }

  /** `fresh`: the reservation was just made or renewed. */
  private reserved(entry: RelayEntry, fresh: boolean): void {
    if (!this.running) return
    const transition = recordSuccess(entry.breaker)
    entry.breaker = transition.state
    entry.lastError = undefined
    this.clearTimer(entry)
    if (entry.reservedSince === null) {
      entry.reservedSince = Date.now()
      this.metrics.gained.inc({ relay: entry.multiaddr })
      const fields: Record<string, unknown> = { relay: entry.multiaddr, attempts: entry.attempts }
      if (entry.lostAt !== null) fields.outageMs = entry.reservedSince - entry.lostAt
      // Once per reservation gained: a relay restart costs one line, not one per retry.
      this.log.info(transition.closed ? 'relay reachable again; reservation restored' : 'relay reservation acquired', fields)
      entry.lostAt = null
    }
    this.scheduleRefresh(entry, fresh)
    this.changed(entry)
  }

  private failed(entry: RelayEntry, err: unknown): void {
    entry.failures++
    entry.lastError = describeError(err)
    this.metrics.failures.inc({ relay: entry.multiaddr })
    const transition = recordFailure(entry.breaker, this.breakerThreshold)
    entry.breaker = transition.state
    if (transition.opened) {
      this.log.warn('relay unavailable; still retrying, quietly', { relay: entry.multiaddr, failures: entry.breaker.consecutiveFailures, error: entry.lastError })
    } else {
      this.log.debug('relay attempt failed', { relay: entry.multiaddr, failures: entry.breaker.consecutiveFailures, error: entry.lastError })
    }
    // A refresh that failed may have left the (still valid) reservation in place.
    if (entry.reservedSince !== null && !this.stillReserved(entry)) entry.reservedSince = null
    this.schedule(entry, nextDelay(entry.breaker.consecutiveFailures, this.policy(), this.random))
    this.changed(entry)
  }

  private lost(entry: RelayEntry, reason: string): void {
    if (!this.running) return
    if (entry.reservedSince === null) {
      // Already recovering; a connection that dropped mid-attempt still wants a quick retry.
      if (!entry.inFlight && entry.timer === null) this.schedule(entry, nextDelay(entry.breaker.consecutiveFailures, this.policy(), this.random))
      return
    }
    if (this.stillReserved(entry)) return
    entry.reservedSince = null
    entry.lostAt = Date.now()
    this.clearRefresh(entry)
    if (!entry.breaker.open) this.log.info('relay reservation lost; redialling', { relay: entry.multiaddr, reason })
    if (!entry.inFlight) this.schedule(entry, nextDelay(0, this.policy(), this.random))
    this.changed(entry)
  }

  private stillReserved(entry: RelayEntry): boolean {
    const { libp2p, reservationStore } = this.components
    if (!entry.peerId || libp2p.getConnections(entry.peerId).length === 0) return false
    return reservationStore ? reservationStore.hasReservation(entry.peerId) : this.hasCircuitAddress(entry)
  }

  private hasCircuitAddress(entry: RelayEntry): boolean {
    const marker = `/p2p/${entry.peerId?.toString()}/p2p-circuit`
    return this.components.libp2p.getMultiaddrs().some((ma) => ma.toString().includes(marker))
  }

  private scheduleRefresh(entry: RelayEntry, fresh: boolean): void {
    this.clearRefresh(entry)
    const reservation = entry.peerId ? this.components.reservationStore?.getReservation(entry.peerId) : undefined
    if (!reservation) return
    const remaining = Number(reservation.expire) * 1000 - Date.now()
    // A reservation just made or renewed cannot be over already: our clock is wrong (or the
    // relay's). Refreshing it at once would ask the relay again twice a second, forever. One
    // found near its end is refreshed at once, as before.
    const skewed = fresh && remaining <= MIN_REFRESH_DELAY_MS
    if (skewed && !entry.warnedSkew) {
      entry.warnedSkew = true
      this.log.warn("the relay's reservation expires in the past by this machine's clock: one of the two clocks is wrong; refreshing it every minute", {
        relay: entry.multiaddr,
        expiresAt: new Date(Number(reservation.expire) * 1000).toISOString(),
      })
    }
    const delay = skewed ? SKEWED_REFRESH_MS : Math.max(MIN_REFRESH_DELAY_MS, remaining - Math.min(remaining / 2, MAX_REFRESH_MARGIN_MS))
    entry.refreshTimer = setTimeout(() => {
      entry.refreshTimer = null
      void this.attempt(entry, true)
    }, Math.min(delay, 2 ** 31 - 1))
    entry.refreshTimer.unref?.()
  }

  /** The safety net: events can be missed; the periodic look at the truth cannot. */
  private check(): void {
    for (const entry of this.entries) {
      if (entry.invalid || entry.inFlight) continue
      if (entry.reservedSince !== null) {
        if (!this.stillReserved(entry)) this.lost(entry, 'periodic check found no reservation')
      } else if (entry.timer === null) {
        this.schedule(entry, nextDelay(entry.breaker.consecutiveFailures, this.policy(), this.random))
      }
    }
  }

  private policy(): { baseDelayMs: number; maxDelayMs: number } {
    return { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs }
  }

  private changed(entry: RelayEntry): void {
    this.publishState(entry)
    try {
      this.init.onChange?.()
    } catch (err) {
      this.log.debug('relay change listener failed', { error: err })
    }
  }

  private publishState(entry: RelayEntry): void {
    const current = this.entryState(entry)
    for (const state of ['connecting', 'reserved', 'unavailable'] as const) {
      this.metrics.state.set({ relay: entry.multiaddr, state }, state === current ? 1 : 0)
    }
  }
}

function relayMetrics(metrics: Metrics) {
  return {
    state: metrics.gauge({ name: 'relay_state', help: 'Relay state: 1 for the current state of each configured relay', labelNames: ['relay', 'state'] as const }),
    attempts: metrics.counter({ name: 'relay_reservation_attempts_total', help: 'Relay dial and reservation attempts', labelNames: ['relay'] as const }),
    failures: metrics.counter({ name: 'relay_reservation_failures_total', help: 'Relay attempts that failed', labelNames: ['relay'] as const }),
    gained: metrics.counter({ name: 'relay_reservations_gained_total', help: 'Times a relay reservation was acquired or restored', labelNames: ['relay'] as const }),
  }
}

function parseRelay(text: string): RelayEntry {
  const entry: RelayEntry = {
    multiaddr: text,
    addr: null,
    peerId: null,
    invalid: null,
    attempts: 0,
    failures: 0,
    breaker: CLOSED_BREAKER,
    lastError: undefined,
    inFlight: false,
    timer: null,
    nextAttemptAt: null,
    refreshTimer: null,
    reservedSince: null,
    lostAt: null,
    warnedSkew: false,
  }
  try {
    Object.assign(entry, parseRelayAddress(text))
  } catch (err) {
    entry.invalid = describeError(err)
    entry.lastError = entry.invalid
  }
  return entry
}
