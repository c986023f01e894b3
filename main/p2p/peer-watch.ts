import type { Libp2pEvents, PeerId } from '@libp2p/interface'
import { parsePeerId } from './peer-id-text.js'
import { LRUCache } from 'lru-cache'
import { ContractError } from '../../shared/contract/index.js'
import { Disposables, ListenerSet, type Startable, deadline, listenerOf, logListenerErrors, nextDelay } from '../kit/index.js'
import type { Logger } from '../telemetry/index.js'
import type { Libp2pNode } from './libp2p.js'
import { describeError } from './relay-address.js'

export interface PeerWatchInit {
  /** First retry of a wanted peer that cannot be reached (ms); doubles per failure, with full jitter. */
  baseDelayMs?: number
  /** Longest wait between tries (ms): a peer that returns is reached within about this long. */
  maxDelayMs?: number
  /** A peer away longer than this (ms) is tried less often ... */
  slowAfterMs?: number
  /** ... at most this far apart (ms). */
  slowMaxDelayMs?: number
  /** How long one try may take (ms); a refused port fails at once. */
  dialTimeoutMs?: number
  /** Most unreachable peers remembered. */
  maxTracked?: number
}

export interface Reachability {
  reachability: 'connected' | 'unreachable' | 'unknown'
  unreachable?: { since: string; reason: string }
}

/** The peer could not be reached now (a dial failed or timed out). */
export class PeerUnreachableError extends ContractError {
  constructor(
    readonly peerId: string,
    readonly reason: string,
  ) {
    super('unavailable', `the peer cannot be reached right now: ${reason}`, { peerId, reachable: false })
  }
}

interface Wanted {
  holders: Set<string>
  attempt: number
  timer: NodeJS.Timeout | null
  /** performance.now() of the first failed try since the peer was last reached. */
  awaySince: number | null
}

/**
 * Which peers can be reached, and keeping the ones something waits for within reach. A
 * part that needs a peer (messages kept for it, an open channel) `want`s it: while it is
 * not connected, it is tried again with backoff (1 s doubling to 5 s, jittered; after
 * 10 minutes away, up to a minute apart), so a peer that comes back is found within
 * seconds, on our side, whoever restarted. Every
 * failed try (ours, or one a part reports) marks the peer unreachable with the reason in
 * words; a connection clears it and tells the listeners. `probe` is the quick question
 * before an action: connected, or one dial bounded in time.
 */
export class PeerWatch implements Startable {
  private readonly wanted = new Map<string, Wanted>()
  private readonly unreachable: LRUCache<string, { since: number; reason: string }>
  private readonly probes = new Map<string, Promise<void>>()
  private readonly listeners: ListenerSet<[string]>
  private readonly changeListeners: ListenerSet<[]>
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly slowAfterMs: number
  private readonly slowMaxDelayMs: number
  private readonly dialTimeoutMs: number
  private abort = new AbortController()
  private disposables = new Disposables()
  private stopped = true

  constructor(
    private readonly components: { libp2p: Libp2pNode; logger: Logger },
    init: PeerWatchInit = {},
  ) {
    this.baseDelayMs = init.baseDelayMs ?? 1000
    this.maxDelayMs = init.maxDelayMs ?? 5_000
    this.slowAfterMs = init.slowAfterMs ?? 10 * 60_000
    this.slowMaxDelayMs = init.slowMaxDelayMs ?? 60_000
    this.dialTimeoutMs = init.dialTimeoutMs ?? 3000
    this.unreachable = new LRUCache({ max: init.maxTracked ?? 10_000 })
    this.listeners = new ListenerSet('peer-reachable', logListenerErrors(components.logger))
    this.changeListeners = new ListenerSet('peer-reachability', logListenerErrors(components.logger))
  }

  async start(): Promise<void> {
    if (!this.stopped) return
    this.stopped = false
    this.abort = new AbortController()
    this.disposables = new Disposables()
    const on = listenerOf<Libp2pEvents>(this.disposables, this.components.libp2p)
    on('peer:connect', (evt) => this.connected(evt.detail.toString()))
    on('peer:disconnect', (evt) => this.disconnected(evt.detail.toString()))
  }

  /** Stop trying anyone; every timer, listener and dial in flight is released. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.abort.abort(new Error('peer watch stopped'))
    for (const w of this.wanted.values()) if (w.timer) clearTimeout(w.timer)
    this.wanted.clear()
    await this.disposables.dispose()
  }

  isConnected(peerId: string): boolean {
    return isConnected(this.components.libp2p, peerId)
  }

  reachability(peerId: string): Reachability {
    if (this.isConnected(peerId)) return { reachability: 'connected' }
    const u = this.unreachable.get(peerId)
    return u ? { reachability: 'unreachable', unreachable: { since: new Date(u.since).toISOString(), reason: u.reason } } : { reachability: 'unknown' }
  }

  /** Hear of a peer that became reachable (a connection opened). */
  onReachable(listener: (peerId: string) => void): () => void {
    return this.listeners.add(listener)
  }

  /** Hear of any change of reachability (for the peers view). */
  onChange(listener: () => void): () => void {
    return this.changeListeners.add(listener)
  }

  /** `holder` needs this peer: keep trying it while it is away. Idempotent per holder. */
  want(peerId: string, holder: string): void {
    if (this.stopped) return
    let w = this.wanted.get(peerId)
    if (!w) {
      w = { holders: new Set(), attempt: 0, timer: null, awaySince: null }
      this.wanted.set(peerId, w)
    }
    w.holders.add(holder)
    if (!this.isConnected(peerId)) this.schedule(peerId, w)
  }

  release(peerId: string, holder: string): void {
    const w = this.wanted.get(peerId)
    if (!w) return
    w.holders.delete(holder)
    if (w.holders.size > 0) return
    if (w.timer) clearTimeout(w.timer)
    this.wanted.delete(peerId)
  }

  /** A reason to believe a wanted peer is back (an announcement, our relay reservation): try now. */
  nudge(peerId?: string): void {
    for (const [id, w] of this.wanted) {
      if (peerId !== undefined && id !== peerId) continue
      if (this.isConnected(id)) continue
      w.attempt = 0
      if (w.timer) clearTimeout(w.timer)
      w.timer = null
      void this.tryNow(id)
    }
  }

  /** A connection to the peer opened. */
  private connected(peerId: string): void {
    const was = this.unreachable.delete(peerId)
    const w = this.wanted.get(peerId)
    if (w) {
      w.attempt = 0
      w.awaySince = null
      if (w.timer) clearTimeout(w.timer)
      w.timer = null
    }
    this.listeners.emit(peerId)
    if (was) this.changed()
  }

  /** The peer's last connection closed: a wanted peer is tried again soon. */
  private disconnected(peerId: string): void {
    const w = this.wanted.get(peerId)
    if (w && !this.isConnected(peerId)) this.schedule(peerId, w)
  }

  /** A part failed to reach the peer (its own dial): it is unreachable, for that reason. */
  failed(peerId: string, err: unknown): void {
    if (this.isConnected(peerId)) return
    const reason = describeError(err).slice(0, 300)
    const existing = this.unreachable.get(peerId)
    this.unreachable.set(peerId, { since: existing?.since ?? Date.now(), reason })
    if (!existing || existing.reason !== reason) this.changed()
    const w = this.wanted.get(peerId)
    if (w) this.schedule(peerId, w)
  }

  /**
   * Connected, or one dial within `timeoutMs` (default dialTimeoutMs): resolves when the
   * peer is reachable, rejects with PeerUnreachableError (in milliseconds when its port
   * refuses). Concurrent probes of one peer share the dial.
   */
  probe(peerId: string, timeoutMs = this.dialTimeoutMs): Promise<void> {
    if (this.isConnected(peerId)) return Promise.resolve()
    let running = this.probes.get(peerId)
    if (!running) {
      running = this.dial(peerId, timeoutMs).finally(() => this.probes.delete(peerId))
      this.probes.set(peerId, running)
    }
    return running
  }

  private async dial(peerId: string, timeoutMs: number): Promise<void> {
    try {
      await probePeer(this.components.libp2p, peerId, Math.min(timeoutMs, this.dialTimeoutMs), this.abort.signal)
    } catch (err) {
      if (err instanceof PeerUnreachableError) this.failed(peerId, err.reason)
      throw err
    }
  }

  private async tryNow(peerId: string): Promise<void> {
    if (this.stopped || !this.wanted.has(peerId)) return
    try {
      await this.probe(peerId)
    } catch (err) {
      this.components.logger.debug('a wanted peer is still away', { peerId, err })
    }
  }

  private schedule(peerId: string, w: Wanted): void {
    if (this.stopped || w.timer) return
    const now = performance.now()
    w.awaySince ??= now
    const maxDelayMs = now - w.awaySince >= this.slowAfterMs ? this.slowMaxDelayMs : this.maxDelayMs
    const delay = nextDelay(w.attempt, { baseDelayMs: this.baseDelayMs, maxDelayMs })
    w.attempt++
    w.timer = setTimeout(() => {
      w.timer = null
      void this.tryNow(peerId)
    }, delay)
    w.timer.unref?.()
  }

  private changed(): void {
    this.changeListeners.emit()
  }
}

/**
 * Connected, or one dial within `timeoutMs`: resolves when the peer is reachable, rejects
 * with PeerUnreachableError (at once when its port refuses; when nothing answers, at
 * `timeoutMs`), or `invalid_params` for a peer id that does not parse.
 */
export async function probePeer(libp2p: Libp2pNode, peerId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  let id: PeerId
  try {
    id = parsePeerId(peerId)
  } catch {
    throw new ContractError('invalid_params', 'not a valid peer id', { field: 'peerId' })
  }
  if (libp2p.getConnections(id).length > 0) return
  const limit = deadline(timeoutMs, signal)
  try {
    await libp2p.dial(id, { signal: limit.signal })
  } catch (err) {
    if (libp2p.getConnections(id).length > 0) return
    const name = (err as { name?: string } | null)?.name
    const why = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs} ms` : describeError(err)
    throw new PeerUnreachableError(peerId, why.slice(0, 300))
  } finally {
    limit.release()
  }
}

/** A connection to the peer is open now (false for a peer id that does not parse). */
export function isConnected(libp2p: Libp2pNode, peerId: string): boolean {
  try {
    return libp2p.getConnections(parsePeerId(peerId)).length > 0
  } catch {
    return false
  }
}
