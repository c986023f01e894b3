import { LRUCache } from 'lru-cache'
import type { Peer } from '../../shared/contract/index.js'
import { Disposables, type ListenerErrorReporter, ListenerSet, type Startable, surfaceListenerErrors } from '../kit/index.js'

const DEFAULT_PEER_DIRECTORY_MAX = 1000
const DEFAULT_PEER_DIRECTORY_TTL_MS = 60 * 60 * 1000
export const MAX_MULTIADDRS_PER_PEER = 16
const MAX_MULTIADDR_LENGTH = 1024
const DEFAULT_CHANGE_INTERVAL_MS = 250

export interface PeerDirectoryInit {
  /** Most peers kept; the least recently seen fall out first. Default 1000. */
  max?: number
  /** A peer not seen for this long disappears (ms). Connected peers never expire. Default 1 h. */
  ttlMs?: number
  /** At most one change notification per this many ms, however many updates. Default 250. */
  changeIntervalMs?: number
  /** The clock ttls are measured on (ms, monotonic); tests pass a fake one. Default performance.now. */
  now?: () => number
  /** Where a change listener's failure is reported (the node logs it with its stack). */
  onListenerError?: ListenerErrorReporter
}

/** A partial update: every field given (a key present, even undefined) replaces the stored one; multiaddrs are merged. */
export type PeerUpdate = Pick<Peer, 'peerId'> & Partial<Omit<Peer, 'peerId' | 'lastSeen'>>

class PeerDirectoryError extends Error {
  override readonly name = 'PeerDirectoryError'
}

/**
 * Every peer this node knows about, bounded by count (LRU) and age (TTL), so that a flood
 * of discoveries costs a fixed amount of memory. Changes are coalesced: subscribers hear at
 * most one notification per `changeIntervalMs`, never one per discovered peer.
 */
export class PeerDirectory implements Startable {
  readonly max: number
  readonly ttlMs: number
  private readonly changeIntervalMs: number
  private readonly cache: LRUCache<string, Peer>
  private readonly listeners: ListenerSet<[]>
  private disposables: Disposables | null = null
  private notifyTimer: ReturnType<typeof setTimeout> | null = null

  constructor(init: PeerDirectoryInit = {}) {
    this.max = init.max ?? DEFAULT_PEER_DIRECTORY_MAX
    this.ttlMs = init.ttlMs ?? DEFAULT_PEER_DIRECTORY_TTL_MS
    this.changeIntervalMs = init.changeIntervalMs ?? DEFAULT_CHANGE_INTERVAL_MS
    this.listeners = new ListenerSet('peer-directory', init.onListenerError ?? surfaceListenerErrors)
    if (!Number.isSafeInteger(this.max) || this.max < 1) throw new PeerDirectoryError(`max must be a positive integer, got ${this.max}`)
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1) throw new PeerDirectoryError(`ttlMs must be a positive integer, got ${this.ttlMs}`)
    // No ttlAutopurge: that arms a timer per entry. Stale entries are dropped on read
    // (list/size purge them) and pushed out by the LRU bound.
    this.cache = new LRUCache<string, Peer>({ max: this.max, ttl: this.ttlMs, ttlAutopurge: false, updateAgeOnGet: false, ...(init.now ? { perf: { now: init.now } } : {}) })
  }

  async start(): Promise<void> {
    if (this.disposables) return
    this.disposables = new Disposables()
    // One disposer for the one coalescing timer (Disposables.timeout would keep a closure
    // per notification for the life of the directory).
    this.disposables.add(() => {
      if (this.notifyTimer) clearTimeout(this.notifyTimer)
      this.notifyTimer = null
    })
  }

  async stop(): Promise<void> {
    const disposables = this.disposables
    this.disposables = null
    await disposables?.dispose()
  }

  get size(): number {
    this.cache.purgeStale()
    return this.cache.size
  }

  get(peerId: string): Peer | undefined {
    // peek: reading must not count as "seen" nor reorder the LRU.
    return this.cache.peek(peerId)
  }

  has(peerId: string): boolean {
    return this.cache.has(peerId)
  }

  /** Most recently seen first; expired peers are purged first. */
  list(): Peer[] {
    this.cache.purgeStale()
    return [...this.cache.values()].map((peer) => ({ ...peer, services: [...peer.services], multiaddrs: [...peer.multiaddrs] }))
  }

  upsert(update: PeerUpdate): Peer {
    const existing = this.cache.peek(update.peerId)
    const multiaddrs = mergeMultiaddrs(update.multiaddrs ?? [], existing?.multiaddrs ?? [])
    const peer: Peer = {
      peerId: update.peerId,
      services: update.services ?? existing?.services ?? [],
      multiaddrs,
      connected: update.connected ?? existing?.connected ?? false,
      connection: update.connection ?? existing?.connection ?? 'none',
      // The node overlays what its PeerWatch knows of a peer that is not connected.
      reachability: (update.connected ?? existing?.connected ?? false) ? 'connected' : 'unknown',
      source: update.source ?? existing?.source ?? 'discovery',
      lastSeen: new Date().toISOString(),
    }
    // A key given (even as undefined) replaces: an announcement without a name clears the old one.
    const name = 'name' in update ? update.name : existing?.name
    if (name !== undefined) peer.name = name
    const walletIdentityKey = 'walletIdentityKey' in update ? update.walletIdentityKey : existing?.walletIdentityKey
    if (walletIdentityKey !== undefined) peer.walletIdentityKey = walletIdentityKey
    if (!peer.connected) peer.connection = 'none'
    // A connected peer never goes stale (ttl 0 = no ttl for this entry); the LRU bound
    // still applies, and the node re-syncs connected peers from libp2p on listing.
    this.cache.set(peer.peerId, peer, { ttl: peer.connected ? 0 : this.ttlMs })
    this.changed()
    return peer
  }

  markConnected(peerId: string, connection: 'direct' | 'relayed'): Peer {
    return this.upsert({ peerId, connected: true, connection })
  }

  /** No-op for an unknown peer: a disconnect is no reason to learn about one. */
  markDisconnected(peerId: string): Peer | undefined {
    const existing = this.cache.peek(peerId)
    if (!existing) return undefined
    if (!existing.connected) return existing
    return this.upsert({ peerId, connected: false, connection: 'none' })
  }

  /** Marks every peer disconnected (the node stopped); nothing is forgotten. */
  markAllDisconnected(): void {
    for (const peer of [...this.cache.values()]) {
      if (peer.connected) this.cache.set(peer.peerId, { ...peer, connected: false, connection: 'none' }, { ttl: this.ttlMs })
    }
  }

  delete(peerId: string): boolean {
    const deleted = this.cache.delete(peerId)
    if (deleted) this.changed()
    return deleted
  }

  clear(): void {
    this.cache.clear()
    this.changed()
  }

  /** Called at most once per `changeIntervalMs` while started; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener)
  }

  private changed(): void {
    if (!this.disposables || this.notifyTimer || this.listeners.size === 0) return
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = null
      // A subscriber's failure is reported; the directory keeps notifying the others.
      this.listeners.emit()
    }, this.changeIntervalMs)
    this.notifyTimer.unref?.()
  }
}

function mergeMultiaddrs(fresh: readonly string[], old: readonly string[]): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  for (const addr of [...fresh, ...old]) {
    if (out.length >= MAX_MULTIADDRS_PER_PEER) break
    if (typeof addr !== 'string' || addr.length === 0 || addr.length > MAX_MULTIADDR_LENGTH || seen.has(addr)) continue
    seen.add(addr)
    out.push(addr)
  }
  return out
}
