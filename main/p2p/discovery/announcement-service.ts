import { type GossipSub, type GossipSubEvents, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { Libp2pEvents, PeerId } from '@libp2p/interface'
import { LRUCache } from 'lru-cache'
import type { Service } from '../../../shared/contract/index.js'
import { Disposables, type Startable, listenerOf } from '../../kit/index.js'
import type { Logger, Metrics } from '../../telemetry/index.js'
import type { Libp2pNode } from '../libp2p.js'
import { TokenBucket } from '../messaging/token-bucket.js'
import { type AnnouncedPeer, type Announcement, type AnnouncementRefusal, checkAnnouncement, encodeAnnouncement, toAnnouncedPeer } from './announcement.js'
import {
  ANNOUNCEMENT_VERSION,
  ANNOUNCE_TOPIC,
  DEFAULT_ANNOUNCE_BURST,
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  DEFAULT_ANNOUNCE_RATE_PER_SEC,
  DEFAULT_CHANGE_DEBOUNCE_MS,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_FUTURE_SKEW_MS,
  DEFAULT_MAX_TRACKED_AUTHORS,
  MAX_ANNOUNCED_RELAY_ADDRS,
} from './constants.js'

export interface AnnouncementComponents {
  node: { readonly libp2p: Libp2pNode }
  logger: Logger
  metrics: Metrics
}

/** What this node says about itself; the peer id and relay addresses are filled in. */
export interface SelfDescription {
  name?: string
  services?: Service[]
  walletIdentityKey?: string
}

export interface AnnouncementInit extends SelfDescription {
  /** Every accepted announcement (e.g. PeerDirectory.upsert). */
  onAnnouncement?: (peer: AnnouncedPeer) => void
  /** Re-announce this often even without changes (ms). Default 5 min. */
  intervalMs?: number
  /** Ignore announcements older than this (ms). Default 30 min. */
  maxAgeMs?: number
  /** Ignore announcements dated further ahead than this (ms). Default 60 s. */
  maxFutureSkewMs?: number
  /** Per-author budget. Default 0.2/s, burst 5. */
  rateLimit?: { ratePerSec?: number; burst?: number }
  /** Authors remembered (LRU). Default 5,000. */
  maxTrackedAuthors?: number
  /** Changes (addresses, description) within this window are announced once (ms). Default 500. */
  changeDebounceMs?: number
  /** Clock (ms), for tests. */
  now?: () => number
}

class DiscoveryUnavailableError extends Error {
  override readonly name = 'DiscoveryUnavailableError'
}

interface AuthorState {
  bucket: TokenBucket
  lastTs: number
}

/**
 * Signed peer announcements over gossipsub. This node announces itself (name, services,
 * relay addresses, wallet identity key) at start, on change and on an interval; it accepts
 * another's announcement only when the announced peer id is the key that signed the
 * message, the addresses lead to that peer, it is fresh, newer than the last one from that
 * author, and within the author's budget. Refusals are counted; forgeries are reported to
 * gossipsub as Reject so that forwarders of them lose score.
 */
export class AnnouncementService implements Startable {
  private readonly logger: Logger
  private readonly counter
  private readonly now: () => number
  private self: SelfDescription
  private disposables = new Disposables()
  private authors: LRUCache<string, AuthorState>
  private running = false
  private publishTimer: (() => void) | null = null
  private lastPublished: Announcement | null = null

  constructor(
    private readonly components: AnnouncementComponents,
    private readonly init: AnnouncementInit = {},
  ) {
    this.logger = components.logger
    this.now = init.now ?? Date.now
    this.self = { name: init.name, services: init.services ?? [], walletIdentityKey: init.walletIdentityKey }
    this.counter = components.metrics.counter<'result' | 'reason'>({
      name: 'discovery_announcements_total',
      help: 'Announcements received: accepted, or refused (reject/ignore) with the reason',
      labelNames: ['result', 'reason'],
    })
    this.authors = this.newAuthors()
  }

  private newAuthors(): LRUCache<string, AuthorState> {
    return new LRUCache<string, AuthorState>({ max: this.init.maxTrackedAuthors ?? DEFAULT_MAX_TRACKED_AUTHORS })
  }

  private get pubsub(): GossipSub {
    const pubsub = (this.components.node.libp2p.services as { pubsub?: GossipSub }).pubsub
    if (!pubsub) throw new DiscoveryUnavailableError('the libp2p node has no gossipsub service (pubsub: false)')
    return pubsub
  }

  /** The last announcement published (for health and tests). */
  get announced(): Announcement | null {
    return this.lastPublished
  }

  async start(): Promise<void> {
    if (this.running) return
    const pubsub = this.pubsub
    this.disposables = new Disposables()
    this.authors = this.newAuthors()
    pubsub.topicValidators.set(ANNOUNCE_TOPIC, (_peer: PeerId, msg: Message) => this.validate(msg))
    this.disposables.add(() => {
      pubsub.topicValidators.delete(ANNOUNCE_TOPIC)
    })
    pubsub.subscribe(ANNOUNCE_TOPIC)
    this.disposables.add(() => pubsub.unsubscribe(ANNOUNCE_TOPIC))
    const onPubsub = listenerOf<GossipSubEvents>(this.disposables, pubsub)
    onPubsub('message', (evt) => this.onMessage(evt.detail))
    // A new subscriber should hear about us without waiting for the interval.
    onPubsub('subscription-change', (evt) => {
      if (evt.detail.subscriptions.some((s) => s.topic === ANNOUNCE_TOPIC && s.subscribe)) this.scheduleAnnounce()
    })
    // Our relay addresses change when a reservation is made or lost: tell the others.
    listenerOf<Libp2pEvents>(this.disposables, this.components.node.libp2p)('self:peer:update', () => this.scheduleAnnounce())
    this.disposables.interval(() => void this.announce(), this.init.intervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS)
    this.disposables.add(() => {
      this.publishTimer?.()
      this.publishTimer = null
    })
    this.running = true
    await this.announce()
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.disposables.dispose()
  }

  /** Change what this node says about itself; announced at once (debounced). */
  describe(update: SelfDescription): void {
    this.self = { ...this.self, ...update }
    this.scheduleAnnounce()
  }

  private scheduleAnnounce(): void {
    if (!this.running || this.publishTimer) return
    this.publishTimer = this.disposables.timeout(() => {
      this.publishTimer = null
      void this.announce()
    }, this.init.changeDebounceMs ?? DEFAULT_CHANGE_DEBOUNCE_MS)
  }

  /** Publish this node's announcement now. Never throws: discovery is best effort. */
  async announce(): Promise<void> {
    if (!this.running) return
    const libp2p = this.components.node.libp2p
    const peerId = libp2p.peerId.toString()
    const suffix = `/p2p-circuit/p2p/${peerId}`
    const relayAddrs = libp2p
      .getMultiaddrs()
      .map((m) => m.toString())
      .filter((m) => m.endsWith(suffix) || m.endsWith('/p2p-circuit'))
      .map((m) => (m.endsWith('/p2p-circuit') ? `${m}/p2p/${peerId}` : m))
      .filter((m) => m.length <= 1024)
      .slice(0, MAX_ANNOUNCED_RELAY_ADDRS)
    const announcement: Announcement = { v: ANNOUNCEMENT_VERSION, peerId, services: this.self.services ?? [], relayAddrs, ts: this.now() }
    if (this.self.name !== undefined) announcement.name = this.self.name
    if (this.self.walletIdentityKey !== undefined) announcement.walletIdentityKey = this.self.walletIdentityKey
    try {
      await this.pubsub.publish(ANNOUNCE_TOPIC, encodeAnnouncement(announcement))
      this.lastPublished = announcement
    } catch (err) {
      this.logger.debug('announcement not published', { err })
    }
  }

  private refuse(action: 'reject' | 'ignore', reason: AnnouncementRefusal): TopicValidatorResult {
    this.counter.inc({ result: action, reason })
    return action === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  /** Gossipsub asks before delivering or forwarding: only what passes here spreads. */
  private validate(msg: Message): TopicValidatorResult {
    const from = msg.type === 'signed' ? msg.from.toString() : null
    const verdict = checkAnnouncement(msg.data, from, {
      now: this.now(),
      maxAgeMs: this.init.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
      maxFutureSkewMs: this.init.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS,
    })
    if (!verdict.ok) return this.refuse(verdict.action, verdict.reason)
    const author = verdict.announcement.peerId
    let state = this.authors.get(author)
    if (!state) {
      state = {
        bucket: new TokenBucket({
          ratePerSec: this.init.rateLimit?.ratePerSec ?? DEFAULT_ANNOUNCE_RATE_PER_SEC,
          burst: this.init.rateLimit?.burst ?? DEFAULT_ANNOUNCE_BURST,
        }),
        lastTs: -1,
      }
      this.authors.set(author, state)
    }
    // An older announcement than one already accepted is a replay (or reordering): not news.
    if (verdict.announcement.ts <= state.lastTs) return this.refuse('ignore', 'replayed')
    if (!state.bucket.tryTake()) return this.refuse('ignore', 'rate_limited')
    state.lastTs = verdict.announcement.ts
    return TopicValidatorResult.Accept
  }

  private onMessage(msg: Message): void {
    if (msg.topic !== ANNOUNCE_TOPIC || msg.type !== 'signed') return
    // Only validated messages are delivered; parse again (cheap) to get the typed value.
    const verdict = checkAnnouncement(msg.data, msg.from.toString(), { now: this.now(), maxAgeMs: Number.MAX_SAFE_INTEGER, maxFutureSkewMs: Number.MAX_SAFE_INTEGER })
    if (!verdict.ok) return
    this.counter.inc({ result: 'accepted', reason: 'ok' })
    try {
      this.init.onAnnouncement?.(toAnnouncedPeer(verdict.announcement))
    } catch (err) {
      this.logger.warn('announcement consumer failed', { err })
    }
  }
}
