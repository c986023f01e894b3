import { mkdirSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import type { Startable } from '../kit/index.js'
import { IDENTITY_FILE, loadOrCreateIdentity } from '../p2p/index.js'
import { createNode, type Libp2pNode } from '../p2p/index.js'
import { writeFileAtomically } from '../store/index.js'
import type { Logger } from '../telemetry/index.js'

export const MULTIADDR_FILE = 'multiaddr'

export interface RelayServerComponents {
  logger: Logger
}

export interface RelayServerInit {
  /** Holds the relay's identity (so its peer id survives restarts) and the multiaddr file. */
  dataDir: string
  /** Listen host; default 0.0.0.0 (a relay is meant to be reached). */
  host?: string
  /** TCP port; 0 picks a free one. Default 4003. */
  port?: number
  /** Addresses to announce instead of the listen ones (a public IP behind NAT). */
  announce?: string[]
  /** Peers holding a reservation at once. Default 128. */
  maxReservations?: number
  /** Reservation lifetime; clients refresh before it ends. Default 1 h. */
  reservationTtlMs?: number
  /** Bytes one relayed connection may carry. Default 4 MiB. */
  connectionDataLimit?: bigint
  /** Lifetime of one relayed connection. Default 10 min. */
  connectionDurationLimitMs?: number
  maxConnections?: number
  inboundConnectionThreshold?: number
  maxIncomingPendingConnections?: number
}

class RelayServerError extends Error {
  override readonly name = 'RelayServerError'
}

/**
 * A circuit relay v2 server: a libp2p node that only relays (no gossip, no mDNS), with a
 * persisted identity, which writes its full dialable multiaddr to `<dataDir>/multiaddr`
 * so clients and scripts can find it.
 */
export class RelayServer implements Startable {
  private node: Libp2pNode | null = null
  private address = ''
  private readonly log: Logger
  private readonly settings: Required<Omit<RelayServerInit, 'announce'>> & { announce: string[] }

  constructor(components: RelayServerComponents, init: RelayServerInit) {
    this.log = components.logger.child('relay')
    this.settings = {
      dataDir: init.dataDir,
      host: init.host ?? '0.0.0.0',
      port: init.port ?? 4003,
      announce: init.announce ?? [],
      maxReservations: init.maxReservations ?? 128,
      reservationTtlMs: init.reservationTtlMs ?? 60 * 60 * 1000,
      connectionDataLimit: init.connectionDataLimit ?? 4n * 1024n * 1024n,
      connectionDurationLimitMs: init.connectionDurationLimitMs ?? 10 * 60 * 1000,
      maxConnections: init.maxConnections ?? 1024,
      inboundConnectionThreshold: init.inboundConnectionThreshold ?? 20,
      maxIncomingPendingConnections: init.maxIncomingPendingConnections ?? 64,
    }
    if (isIP(this.settings.host) === 0) throw new RelayServerError(`host must be an IPv4 or IPv6 address, got "${this.settings.host}"`)
  }

  /** The relay's dialable multiaddr with /p2p/<id>; set once started. */
  get multiaddr(): string {
    if (!this.address) throw new RelayServerError('the relay is not running')
    return this.address
  }

  get peerId(): string {
    if (!this.node) throw new RelayServerError('the relay is not running')
    return this.node.peerId.toString()
  }

  /** Every address the relay listens on, with /p2p/<id>. */
  multiaddrs(): string[] {
    return this.node ? this.node.getMultiaddrs().map((ma) => ma.toString()) : []
  }

  /** Peers currently holding a reservation. */
  reservationCount(): number {
    return this.node?.services.relay?.reservations.size ?? 0
  }

  async start(): Promise<void> {
    if (this.node) return
    const s = this.settings
    mkdirSync(s.dataDir, { recursive: true, mode: 0o700 })
    const privateKey = await loadOrCreateIdentity(s.dataDir, IDENTITY_FILE)
    const ip = isIP(s.host) === 6 ? `/ip6/${s.host}` : `/ip4/${s.host}`
    const node = await createNode({
      privateKey,
      listen: [`${ip}/tcp/${s.port}`],
      announce: s.announce,
      limits: {
        maxConnections: s.maxConnections,
        inboundConnectionThreshold: s.inboundConnectionThreshold,
        maxIncomingPendingConnections: s.maxIncomingPendingConnections,
      },
      mdns: false,
      pubsub: false,
      relayServer: {
        maxReservations: s.maxReservations,
        reservationTtlMs: s.reservationTtlMs,
        connectionDataLimit: s.connectionDataLimit,
        connectionDurationLimitMs: s.connectionDurationLimitMs,
      },
    })
    await node.start()
    const address = pickAddress(node.getMultiaddrs().map((ma) => ma.toString()), s.host)
    if (!address) {
      await node.stop()
      throw new RelayServerError(`the relay could not listen on ${ip}/tcp/${s.port} (port taken?)`)
    }
    this.node = node
    this.address = address
    writeFileAtomically(join(s.dataDir, MULTIADDR_FILE), `${address}\n`, 0o644)
    this.log.info('relay listening', { multiaddr: address, multiaddrs: this.multiaddrs(), maxReservations: s.maxReservations, reservationTtlMs: s.reservationTtlMs })
  }

  async stop(): Promise<void> {
    const node = this.node
    if (!node) return
    this.node = null
    this.address = ''
    await node.stop()
    this.log.info('relay stopped')
  }
}

/**
 * The one address written for clients: an announced one first, then the listen host
 * itself, then (for a wildcard host) a non-loopback address, then loopback.
 */
export function pickAddress(addresses: string[], host: string): string | undefined {
  const direct = addresses.filter((a) => a.includes('/p2p/') && !a.includes('/p2p-circuit') && /\/tcp\/\d+\/p2p\//.test(a))
  const hostPart = (a: string): string => a.split('/')[2] ?? ''
  const wildcard = host === '0.0.0.0' || host === '::'
  if (!wildcard) {
    const exact = direct.find((a) => hostPart(a) === host)
    if (exact) return exact
  }
  const isLoopback = (a: string): boolean => hostPart(a).startsWith('127.') || hostPart(a) === '::1'
  return direct.find((a) => !isLoopback(a)) ?? direct[0]
}
