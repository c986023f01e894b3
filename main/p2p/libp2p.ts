import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { FaultTolerance, type PrivateKey, type Transport } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

interface Libp2pLimits {
  maxConnections: number
  inboundConnectionThreshold: number
  maxIncomingPendingConnections: number
}

export interface RelayServerLimits {
  /** How many peers may hold a reservation at once. */
  maxReservations: number
  /** How long a reservation lasts before the client must refresh it (ms). */
  reservationTtlMs: number
  /** Data a relayed connection may carry before the relay closes it (bytes). */
  connectionDataLimit: bigint
  /** Lifetime of a relayed connection (ms). */
  connectionDurationLimitMs: number
}

export interface Libp2pInit {
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  limits: Libp2pLimits
  mdns: boolean
  /** Host a circuit relay v2 server (the relay process); clients leave it off. */
  relayServer?: RelayServerLimits
  /** Gossipsub on (the engine) or off (a relay does not need it). */
  pubsub?: boolean
  /**
   * Receives the circuit relay transport once libp2p builds it. libp2p exposes no public
   * handle on it, and the relay keeper needs its reservation store (see relay-keeper.ts).
   */
  onCircuitRelayTransport?: (transport: Transport) => void
}

/**
 * One place that decides how a libp2p node is made. Start never fails because an address
 * cannot be listened on (NO_FATAL): a relay that is down, or a port that is taken by a
 * transport we can live without, degrades the node instead of killing it.
 */
export async function createNode(init: Libp2pInit) {
  const services = {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping(),
    autoNAT: autoNAT(),
    dcutr: dcutr(),
    ...(init.pubsub === false
      ? {}
      : {
          pubsub: gossipsub({
            // Announcements are signed by their author and checked against it.
            globalSignaturePolicy: 'StrictSign',
            allowPublishToZeroTopicPeers: true,
            emitSelf: false,
            // Two peers behind NAT meet only through a relay: announcements must cross it
            // (they are small and rate-limited per author, so the relay's data limit holds).
            runOnLimitedConnection: true,
          }),
        }),
    ...(init.relayServer
      ? {
          relay: circuitRelayServer({
            reservations: {
              maxReservations: init.relayServer.maxReservations,
              reservationTtl: init.relayServer.reservationTtlMs,
              defaultDataLimit: init.relayServer.connectionDataLimit,
              defaultDurationLimit: init.relayServer.connectionDurationLimitMs,
              applyDefaultLimit: true,
            },
          }),
        }
      : {}),
  }
  const makeRelayTransport = circuitRelayTransport({ reservationCompletionTimeout: 5000 })
  const relayTransport: typeof makeRelayTransport = (components) => {
    const transport = makeRelayTransport(components)
    init.onCircuitRelayTransport?.(transport)
    return transport
  }
  const cap = connectionCap(init.limits.maxConnections)
  const node = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: [tcp(), webSockets(), relayTransport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: cap.pruneAbove,
      inboundConnectionThreshold: init.limits.inboundConnectionThreshold,
      maxIncomingPendingConnections: init.limits.maxIncomingPendingConnections,
    },
    connectionGater: { denyInboundUpgradedConnection: () => cap.denyInbound() },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    peerDiscovery: init.mdns ? [mdns()] : [],
    services,
  })
  cap.attach(node)
  return node
}

/**
 * `maxConnections` as a hard ceiling. libp2p checks its limit when a socket arrives, so the
 * handshakes in progress at that moment can all complete past it, and it prunes only
 * afterwards. Here an inbound connection that finished its handshake is refused when the
 * open ones plus those already let through would reach the cap, and libp2p prunes (by
 * value: tags, streams) down to 90% of it, leaving room for newcomers, honest ones too.
 */
const ADMITTED_TTL_MS = 5_000

function connectionCap(maxConnections: number) {
  let counted: { getConnections: () => unknown[]; addEventListener: (type: 'connection:open', fn: (evt: CustomEvent<{ direction: string }>) => void) => void } | null = null
  // When the gater let each through; gone once it shows in getConnections() ('connection:open'),
  // or after a few seconds should it never get there.
  let admitted: number[] = []
  return {
    pruneAbove: Math.max(1, maxConnections - Math.max(1, Math.ceil(maxConnections / 10))),
    // Monotonic: with a wall clock set back, admissions would count against the cap for as long.
    denyInbound(now = performance.now()): boolean {
      if (counted === null) return false
      admitted = admitted.filter((t) => now - t < ADMITTED_TTL_MS)
      if (counted.getConnections().length + admitted.length >= maxConnections) return true
      admitted.push(now)
      return false
    },
    attach(node: NonNullable<typeof counted>): void {
      counted = node
      node.addEventListener('connection:open', (evt) => {
        if (evt.detail.direction === 'inbound') admitted.shift()
      })
    },
  }
}

export type Libp2pNode = Awaited<ReturnType<typeof createNode>>
