import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll } from 'vitest'
import { ChainMonitor } from '../../chain/chain-monitor.js'
import { DevnetServer } from '../../chain/devnet/devnet-server.js'
import { createChainClients } from '../../chain/networks.js'
import { EventBus } from '../../kit/index.js'
import { type Libp2pNode, createNode } from '../../p2p/libp2p.js'
import { Store } from '../../store/index.js'
import { Metrics, silentLogger } from '../../telemetry/index.js'
import { walletMigrations } from '../../wallet/migrations.js'
import { WalletService } from '../../wallet/wallet-service.js'
import { ChannelEngine, type ChannelEngineInit } from '../channel-engine.js'
import { channelMigrations } from '../migrations.js'
import { ChannelLink, type OutgoingRequest } from '../protocol.js'

const LIMITS = { maxConnections: 100, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 }

export interface Side {
  engine: ChannelEngine
  wallet: WalletService
  store: Store
  libp2p: Libp2pNode
  events: EventBus
  peerId: string
  dir: string
  key: PrivateKey
  port: number
  /** Stops everything but keeps the data dir (for a restart). */
  stop(): Promise<void>
  /**
   * As close to a crash as one process gets: connections drop and the database closes
   * under whatever is in flight (its later writes fail); only what was committed survives.
   */
  crash(): Promise<void>
}

export async function startDevnet(): Promise<DevnetServer> {
  const devnet = new DevnetServer({ host: '127.0.0.1', minFeeRateSatsPerKb: 50 })
  await devnet.start()
  return devnet
}

/** `devnet` may be one in another process: only its URL is used. */
export async function startSide(devnet: Pick<DevnetServer, 'url'>, opts: { dir?: string; key?: PrivateKey; port?: number; init?: Partial<ChannelEngineInit> } = {}): Promise<Side> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'bsv-chan-'))
  const key = opts.key ?? (await generateKeyPair('Ed25519'))
  const libp2p = await createNode({ privateKey: key, listen: [`/ip4/127.0.0.1/tcp/${opts.port ?? 0}`], limits: LIMITS, mdns: false, pubsub: false })
  await libp2p.start()
  const store = new Store({ dataDir: dir, migrations: [...walletMigrations, ...channelMigrations] })
  await store.start()
  const chain = createChainClients({ network: 'devnet', chainUrl: devnet.url, http: { retries: 0, timeoutMs: 3000 } })
  const monitor = new ChainMonitor({ lookup: chain.lookup, logger: silentLogger }, { network: 'devnet', intervalMs: 60_000 })
  const events = new EventBus()
  const metrics = new Metrics()
  const wallet = new WalletService({ store, logger: silentLogger, metrics, events, chain: { ...chain, monitor } }, { network: 'devnet', syncIntervalMs: 60_000, scryptLogN: 10, gapLimit: 5 })
  await monitor.start()
  await wallet.start()
  const engine = new ChannelEngine({ store, logger: silentLogger, metrics, events, node: { libp2p }, wallet, chain }, { network: 'devnet', chainPollMs: 200, requestTimeoutMs: 3000, ...opts.init })
  await engine.start()
  const tcp = libp2p.getMultiaddrs().map((m) => m.toString()).find((m) => m.includes('/tcp/'))!
  return {
    engine, wallet, store, libp2p, events, dir, key, peerId: libp2p.peerId.toString(), port: Number(tcp.split('/tcp/')[1]!.split('/')[0]),
    async stop() {
      await engine.stop()
      await wallet.stop()
      await monitor.stop()
      await libp2p.stop()
      await store.stop()
    },
    async crash() {
      await libp2p.stop()
      store.db.close()
      // What is left running stops now; its failures against the closed database are the crash.
      await engine.stop().catch(() => {})
      await wallet.stop().catch(() => {})
      await monitor.stop().catch(() => {})
      await store.stop().catch(() => {})
    },
  }
}

export async function connect(a: Side, b: Side): Promise<void> {
  await a.libp2p.peerStore.merge(b.libp2p.peerId, { multiaddrs: b.libp2p.getMultiaddrs() })
  await a.libp2p.dial(multiaddr(b.libp2p.getMultiaddrs()[0]!.toString()))
}

export async function fund(devnet: DevnetServer, side: Side, sats: number): Promise<void> {
  await devnet.faucet(side.wallet.info().address, sats)
  await side.wallet.sync()
}

/** A devnet, a funded payer and a payee that accepts channels up to 500,000 sats, connected; `stop` ends all three and removes their folders. */
export interface Pair {
  devnet: DevnetServer
  payer: Side
  payee: Side
  stop: () => Promise<void>
}

async function startPair(fundSats: number, payerInit: Partial<ChannelEngineInit> = {}): Promise<Pair> {
  const devnet = await startDevnet()
  const payer = await startSide(devnet, { init: payerInit })
  const payee = await startSide(devnet, { init: { policy: { autoAcceptMaxSats: 500_000 } } })
  await connect(payer, payee)
  await fund(devnet, payer, fundSats)
  return {
    devnet,
    payer,
    payee,
    stop: async () => {
      for (const s of [payer, payee]) {
        await s.stop()
        removeDir(s.dir)
      }
      await devnet.stop()
    },
  }
}

/**
 * A pair started before the file's (or describe block's) tests and stopped after them: the
 * object is filled in once they run, so tests read `pair.payer`, `pair.payee`, `pair.devnet`.
 */
export function usePair(fundSats: number, payerInit: Partial<ChannelEngineInit> = {}): Pair {
  const pair = {} as Pair
  beforeAll(async () => {
    Object.assign(pair, await startPair(fundSats, payerInit))
  }, 30_000)
  afterAll(async () => {
    await pair.stop?.()
  })
  return pair
}

/**
 * Sends one hand-built frame from `from` to `peerId` on a link of its own, as a lying peer
 * would; answers 'accepted' or the code the peer refused it with.
 */
export async function sendOneFrame(from: Side, peerId: string, frame: OutgoingRequest): Promise<string> {
  const link = new ChannelLink(from.libp2p, peerId, 3000)
  try {
    await link.request(frame as never)
    return 'accepted'
  } catch (err) {
    return (err as { code: string }).code
  } finally {
    link.close()
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
