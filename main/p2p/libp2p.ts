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

export interface Libp2pLimits {
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
  return createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: [tcp(), webSockets(), relayTransport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: init.limits.maxConnections,
      inboundConnectionThreshold: init.limits.inboundConnectionThreshold,
      maxIncomingPendingConnections: init.limits.maxIncomingPendingConnections,
    },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    peerDiscovery: init.mdns ? [mdns()] : [],
    services,
  })
}

export type Libp2pNode = Awaited<ReturnType<typeof createNode>>
