import { isIP } from 'node:net'
import type { Connection, Libp2pEvents, PeerId, Transport } from '@libp2p/interface'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { ContractError, type Peer } from '../../shared/contract/index.js'
import type { EngineConfig } from '../config/index.js'
import { Disposables, ListenerSet, type Startable, listenerOf, logListenerErrors } from '../kit/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'
import { loadOrCreateIdentity } from './identity.js'
import { createNode, type Libp2pNode } from './libp2p.js'
import { PeerDirectory } from './peer-directory.js'
import { PeerWatch, type PeerWatchInit } from './peer-watch.js'
import { describeError, isUsableRelayAddress } from './relay-address.js'
import { RelayKeeper, type RelayHealth } from './relay-keeper.js'
import { reservationStoreOf } from './relay-reservations.js'

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export interface P2PNodeComponents {
  logger: Logger
  metrics: Metrics
}

export interface P2PNodeInit {
  dataDir: string
  /** Listen host for TCP and WebSockets (an IPv4 or IPv6 address; 'localhost' means 127.0.0.1). */
  host: string
  /** TCP port; 0 picks a free one. */
  port: number
  /** WebSocket port; null: port + 1, or a free one when port is 0. */
  wsPort: number | null
  relays: string[]
  announce: string[]
  mdns: boolean
  limits: {
    maxConnections: number
    inboundConnectionThreshold: number
    maxIncomingPendingConnections: number
    peerDirectoryMax: number
    peerDirectoryTtlMs: number
  }
  relayKeeper: EngineConfig['relayKeeper'] & { random?: () => number }
  /** Gossipsub on (default) or off. */
  pubsub?: boolean
  /** How long `connect` waits for a dial (ms). Default 10 s. */
  connectTimeoutMs?: number
  /** Run without a listener that cannot bind (health says so) instead of failing start (default false). */
  listenBestEffort?: boolean
  /** How wanted peers that are away are tried again, and how long a reachability probe may take. */
  peerWatch?: PeerWatchInit
}

export type P2PChange = 'peers' | 'relay' | 'addresses'

export function p2pInitFromConfig(config: EngineConfig): P2PNodeInit {
  return {
    dataDir: config.dataDir,
    host: config.p2p.host,
    port: config.p2p.port,
    wsPort: config.p2p.wsPort,
    listenBestEffort: config.p2p.listenBestEffort,
    relays: [...config.p2p.relays],
    announce: [...config.p2p.announce],
    mdns: config.p2p.mdns,
    limits: { ...config.limits },
    relayKeeper: { ...config.relayKeeper },
  }
}

class P2PNodeError extends Error {
  override readonly name = 'P2PNodeError'
}

interface Running {
  libp2p: Libp2pNode
  keeper: RelayKeeper
  watch: PeerWatch
  disposables: Disposables
  /** Requested listeners that did not bind (only with listenBestEffort). */
  missing: MissingListener[]
  /** Addresses our listeners bound (relay circuits excluded). */
  bound: Set<string>
}

/**
 * The libp2p node of the engine, with its relay keeper and peer directory. start() never
 * waits for a relay and never fails because of one; stop() releases every listener and
 * timer, and start() after stop() builds a fresh libp2p.
 */
export class P2PNode implements Startable {
  readonly directory: PeerDirectory
  private readonly log: Logger
  private readonly listeners: ListenerSet<[P2PChange]>
  private running: Running | null = null
  /** The last run's disposables, kept after stop so tests can see that they were all released. */
  private lastDisposables: Disposables | null = null
  private starting: Promise<void> | null = null
  private lastPeerId = ''

  constructor(
    private readonly components: P2PNodeComponents,
    private readonly init: P2PNodeInit,
  ) {
    // Named by whoever composes it (the engine calls it 'p2p'): a second name here doubled it.
    this.log = components.logger
    this.listeners = new ListenerSet('p2p-change', logListenerErrors(this.log))
    this.directory = new PeerDirectory({ max: init.limits.peerDirectoryMax, ttlMs: init.limits.peerDirectoryTtlMs, onListenerError: logListenerErrors(this.log) })
    this.directory.onChange(() => this.emit('peers'))
    // collect() reads the live node, so a restart needs no re-registration.
    const connectionCount = (): number => this.connectionCount()
    const directorySize = (): number => this.directory.size
    components.metrics.gauge({
      name: 'connections',
      help: 'Open libp2p connections',
      collect() {
        this.set(connectionCount())
      },
    })
    components.metrics.gauge({
      name: 'peers',
      help: 'Peers in the peer directory',
      collect() {
        this.set(directorySize())
      },
    })
  }

  /** This node's peer id; set by the first start and kept (the identity is persisted). */
  get peerId(): string {
    if (!this.lastPeerId) throw new P2PNodeError('the p2p node has not been started yet')
    return this.lastPeerId
  }

  get libp2p(): Libp2pNode {
    if (!this.running) throw new P2PNodeError('the p2p node is not running (call start() first)')
    return this.running.libp2p
  }

  get isRunning(): boolean {
    return this.running !== null
  }

  /** Which peers can be reached, and keeping wanted ones within reach (while running). */
  get watch(): PeerWatch {
    if (!this.running) throw new P2PNodeError('the p2p node is not running (call start() first)')
    return this.running.watch
  }

  async start(): Promise<void> {
    if (this.running) return
    this.starting ??= this.doStart().finally(() => {
      this.starting = null
    })
    await this.starting
  }

  private async doStart(): Promise<void> {
    const { init } = this
    const privateKey = await loadOrCreateIdentity(init.dataDir)
    let relayTransport: Transport | undefined
    const libp2p = await createNode({
      privateKey,
      listen: listenAddresses(init),
      announce: init.announce,
      limits: init.limits,
      mdns: init.mdns,
      pubsub: init.pubsub ?? true,
      onCircuitRelayTransport: (transport) => {
        relayTransport = transport
      },
    })
    const disposables = (this.lastDisposables = new Disposables())
    const watch = new PeerWatch({ libp2p, logger: this.log }, init.peerWatch)
    disposables.add(watch.onChange(() => this.emit('peers')))
    const keeper = new RelayKeeper(
      { libp2p, reservationStore: reservationStoreOf(relayTransport), logger: this.components.logger, metrics: this.components.metrics },
      {
        ...init.relayKeeper,
        relays: init.relays,
        onChange: () => {
          // A reservation may be new: peers we wait for can perhaps reach us, or we them, again.
          if (keeper.health().state === 'reserved') watch.nudge()
          this.emit('relay')
        },
      },
    )
    // What actually bound: libp2p skips a listener it cannot bind (NO_FATAL, so a relay or
    // an odd address never fails start), and says so only here.
    const bound = new Set<string>()
    listenerOf<Libp2pEvents>(disposables, libp2p)('transport:listening', (evt) => {
      for (const ma of evt.detail.getAddrs()) bound.add(ma.toString())
    })
    try {
      this.wire(libp2p, disposables)
      await libp2p.start()
      const missing = missingListeners(init, [...bound])
      if (missing.length > 0 && !init.listenBestEffort) throw new ListenError(missing)
      if (missing.length > 0) this.log.warn('p2p listeners could not bind; running without them', { missing })
      this.lastPeerId = libp2p.peerId.toString()
      this.running = { libp2p, keeper, watch, disposables, missing, bound }
      await this.directory.start()
      await watch.start()
      await keeper.start()
    } catch (err) {
      this.running = null
      await keeper.stop().catch(() => {})
      await watch.stop().catch(() => {})
      await disposables.dispose().catch(() => {})
      await Promise.resolve(libp2p.stop()).catch(() => {})
      throw err
    }
    this.log.info('p2p node started', { peerId: this.lastPeerId, multiaddrs: this.multiaddrs(), relays: init.relays.length })
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => {})
    const running = this.running
    if (!running) return
    this.running = null
    const errors: unknown[] = []
    for (const step of [() => running.keeper.stop(), () => running.watch.stop(), () => this.directory.stop(), () => running.disposables.dispose(), () => running.libp2p.stop()]) {
      try {
        await step()
      } catch (err) {
        errors.push(err)
      }
    }
    this.directory.markAllDisconnected()
    this.log.info('p2p node stopped', { peerId: this.lastPeerId })
    if (errors.length > 0) throw new AggregateError(errors, 'the p2p node did not stop cleanly')
  }

  /** Requested listeners that could not bind (the node runs without them only with listenBestEffort). */
  missingListeners(): MissingListener[] {
    return this.running?.missing ?? []
  }

  /** Direct addresses our listeners bound (relay circuits excluded). */
  listening(): string[] {
    return this.running ? [...this.running.bound].filter((a) => !a.includes('/p2p-circuit')) : []
  }

  /** Addresses others can dial, relay circuit addresses included. */
  multiaddrs(): string[] {
    return this.running ? this.running.libp2p.getMultiaddrs().map((ma) => ma.toString()) : []
  }

  connectionCount(): number {
    return this.running ? this.running.libp2p.getConnections().length : 0
  }

  /** Listeners and timers the current (or last) run still holds: 0 after stop, for leak tests. */
  get heldDisposables(): number {
    return this.lastDisposables?.size ?? 0
  }

  relayHealth(): RelayHealth {
    if (this.running) return this.running.keeper.health()
    if (this.init.relays.length === 0) return { state: 'disabled', relays: [] }
    return {
      state: 'unavailable',
      relays: this.init.relays.map((ma) => ({ multiaddr: ma, state: 'unavailable' as const, attempts: 0, failures: 0, lastError: 'the p2p node is not running' })),
    }
  }

  /** The directory, with connected peers re-read from libp2p first (connections are the truth). */
  listPeers(): Peer[] {
    const running = this.running
    if (running) {
      const connected = new Set<string>()
      for (const conn of running.libp2p.getConnections()) {
        const id = conn.remotePeer.toString()
        if (connected.has(id)) continue
        connected.add(id)
        this.syncPeer(running.libp2p, conn.remotePeer)
      }
      for (const peer of this.directory.list()) {
        if (peer.connected && !connected.has(peer.peerId)) this.directory.markDisconnected(peer.peerId)
      }
      return this.directory.list().map((peer) => (peer.connected ? peer : { ...peer, ...running.watch.reachability(peer.peerId) }))
    }
    return this.directory.list()
  }

  /** Dial a peer by multiaddr (direct or through a relay's /p2p-circuit address). */
  async connect(address: string, timeout?: number): Promise<{ peerId: string; connection: 'direct' | 'relayed' }> {
    const running = this.running
    if (!running) throw new ContractError('unavailable', 'the p2p node is not running')
    let ma: Multiaddr
    try {
      ma = multiaddr(address)
    } catch (err) {
      throw new ContractError('invalid_params', `not a valid multiaddr: ${(err as Error).message}`, { field: 'multiaddr' })
    }
    const target = ma.getComponents().findLast((c) => c.code === CODE_P2P)?.value
    if (target === this.lastPeerId) throw new ContractError('invalid_params', 'that multiaddr is this node itself', { field: 'multiaddr' })
    const timeoutMs = timeout ?? this.init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    let connection: Connection
    try {
      connection = await running.libp2p.dial(ma, { signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      throw dialError(err, address, timeoutMs)
    }
    const peerId = connection.remotePeer.toString()
    const kind = isRelayed(connection) ? 'relayed' : 'direct'
    this.directory.upsert({ peerId, connected: true, connection: kind, ...(this.directory.has(peerId) ? {} : { source: 'manual' as const }) })
    return { peerId, connection: kind }
  }

  /** Hear about changes of peers, relay state and own addresses; returns an unsubscribe. */
  subscribe(listener: (change: P2PChange) => void): () => void {
    return this.listeners.add(listener)
  }

  private emit(change: P2PChange): void {
    this.listeners.emit(change)
  }

  private wire(libp2p: Libp2pNode, d: Disposables): void {
    const self = (id: PeerId): boolean => id.equals(libp2p.peerId)
    const on = listenerOf<Libp2pEvents>(d, libp2p)
    on('peer:connect', (evt) => this.syncPeer(libp2p, evt.detail))
    on('connection:open', (evt) => this.syncPeer(libp2p, evt.detail.remotePeer))
    on('connection:close', (evt) => this.syncPeer(libp2p, evt.detail.remotePeer))
    on('peer:disconnect', (evt) => {
      this.directory.markDisconnected(evt.detail.toString())
    })
    on('peer:discovery', (evt) => {
      // libp2p also reports as "discovered" a peer its store first hears of through a failed
      // dial (it records the failure's time): that is no sign the peer exists, and a mistyped
      // id must not become a directory entry. Real discovery comes with addresses.
      if (self(evt.detail.id) || evt.detail.multiaddrs.length === 0) return
      const peerId = evt.detail.id.toString()
      this.directory.upsert({
        peerId,
        multiaddrs: evt.detail.multiaddrs.slice(0, 16).map((ma) => ma.toString()),
        ...(this.directory.has(peerId) ? {} : { source: 'discovery' as const }),
      })
    })
    on('peer:identify', (evt) => {
      if (self(evt.detail.peerId)) return
      const peerId = evt.detail.peerId.toString()
      this.directory.upsert({
        peerId,
        multiaddrs: evt.detail.listenAddrs.slice(0, 16).map((ma) => ma.toString()),
        ...(this.directory.has(peerId) ? {} : { source: 'connection' as const }),
      })
    })
    on('self:peer:update', () => this.emit('addresses'))
  }

  private syncPeer(libp2p: Libp2pNode, peer: PeerId): void {
    if (peer.equals(libp2p.peerId)) return
    const peerId = peer.toString()
    const connections = libp2p.getConnections(peer)
    if (connections.length === 0) {
      this.directory.markDisconnected(peerId)
      return
    }
    const connection = connections.some((c) => !isRelayed(c)) ? 'direct' : 'relayed'
    const existing = this.directory.get(peerId)
    if (existing?.connected && existing.connection === connection) return
    this.directory.upsert({ peerId, connected: true, connection, ...(existing ? {} : { source: 'connection' as const }) })
  }
}

function isRelayed(connection: Connection): boolean {
  return connection.limits != null || connection.remoteAddr.toString().includes('/p2p-circuit')
}

function ipComponent(host: string): string {
  const h = host === 'localhost' ? '127.0.0.1' : host
  const family = isIP(h)
  if (family === 4) return `/ip4/${h}`
  if (family === 6) return `/ip6/${h}`
  throw new P2PNodeError(`p2p.host must be an IPv4 or IPv6 address, got "${host}"`)
}

export function listenAddresses(init: Pick<P2PNodeInit, 'host' | 'port' | 'wsPort' | 'relays'>): string[] {
  const ip = ipComponent(init.host)
  const listen = [`${ip}/tcp/${init.port}`]
  // WebSockets only when asked: a default port beside the TCP one collided with the API's.
  if (init.wsPort !== null) listen.push(`${ip}/tcp/${init.wsPort}/ws`)
  // One relay-search slot per configured relay: the keeper fills each with a reservation on
  // its relay. No relays, no slot: an empty slot makes libp2p dial every peer it discovers
  // in search of a relay, which a node without relays must not do.
  for (const relay of init.relays) if (isUsableRelayAddress(relay)) listen.push('/p2p-circuit')
  return listen
}

/** A P2P listener that was asked for and did not bind, named as the config and the command line name it. */
export interface MissingListener {
  key: 'p2p.port' | 'p2p.wsPort'
  flag: '--p2p-port' | '--ws-port'
  port: number
}

/** The requested TCP and WebSocket listeners that are not among the addresses bound (pure). */
export function missingListeners(init: Pick<P2PNodeInit, 'port' | 'wsPort'>, bound: readonly string[]): MissingListener[] {
  const tcp = bound.filter((a) => /\/tcp\/\d+/.test(a) && !a.includes('/ws') && !a.includes('/p2p-circuit'))
  const ws = bound.filter((a) => a.includes('/ws'))
  const has = (addrs: string[], port: number): boolean => addrs.some((a) => port === 0 || a.includes(`/tcp/${port}/`) || a.endsWith(`/tcp/${port}`))
  const missing: MissingListener[] = []
  if (!has(tcp, init.port)) missing.push({ key: 'p2p.port', flag: '--p2p-port', port: init.port })
  if (init.wsPort !== null && !has(ws, init.wsPort)) missing.push({ key: 'p2p.wsPort', flag: '--ws-port', port: init.wsPort })
  return missing
}

/** Start-up stopped because a P2P listener could not bind: a person must free the port or pick another. */
export class ListenError extends Error {
  override readonly name = 'ListenError'
  constructor(readonly missing: MissingListener[]) {
    super(`could not listen on ${missing.map((m) => `${m.flag} ${m.port} (${m.key})`).join(' and ')}: the port is in use or not allowed; free it, pick another, or start with --listen-best-effort`)
  }
}

function dialError(err: unknown, address: string, timeoutMs: number): ContractError {
  const name = (err as { name?: string } | null)?.name ?? ''
  const message = describeError(err)
  if (name === 'TimeoutError' || name === 'AbortError') return new ContractError('timeout', `no answer from ${address} within ${timeoutMs} ms`)
  if (name === 'NoValidAddressesError' || name === 'UnsupportedProtocolError') {
    return new ContractError('invalid_params', `this node cannot dial ${address}: ${message}`, { field: 'multiaddr' })
  }
  return new ContractError('unavailable', `could not connect to ${address}: ${message}`)
}
