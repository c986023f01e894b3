import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { EventBus, FrameReader, lengthPrefixed } from '../../../kit/index.js'
import { Store } from '../../../store/index.js'
import { Metrics, silentLogger } from '../../../telemetry/index.js'
import { type Libp2pNode, type RelayServerLimits, createNode } from '../../libp2p.js'
import { DEFAULT_MAX_FRAME_BYTES, MESSAGING_PROTOCOL } from '../constants.js'
import { type ResponseFrame, parseResponseFrame } from '../frames.js'
import { messagingMigrations } from '../migrations.js'
import { MessagingService } from '../service.js'
import type { MessagingInit } from '../settings.js'

export const TEST_LIMITS = { maxConnections: 200, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 }

export async function startLibp2p(listen: string[], relayServer?: RelayServerLimits): Promise<Libp2pNode> {
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen, limits: TEST_LIMITS, mdns: false, pubsub: false, relayServer })
  await node.start()
  return node
}

export interface TestPeer {
  libp2p: Libp2pNode
  store: Store
  events: EventBus
  metrics: Metrics
  service: MessagingService
  dir: string
  peerId: string
  stop(): Promise<void>
}

/** A real node (127.0.0.1 only), a real SQLite store in a temp dir, and the service. */
export async function startPeer(opts: { listen?: string[]; init?: MessagingInit } = {}): Promise<TestPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'bsv-msg-'))
  const libp2p = await startLibp2p(opts.listen ?? ['/ip4/127.0.0.1/tcp/0'])
  const store = new Store({ dataDir: dir, migrations: messagingMigrations })
  await store.start()
  const events = new EventBus()
  const metrics = new Metrics()
  const service = new MessagingService({ node: { libp2p }, store, logger: silentLogger, metrics, events }, opts.init)
  await service.start()
  return {
    libp2p,
    store,
    events,
    metrics,
    service,
    dir,
    peerId: libp2p.peerId.toString(),
    async stop() {
      await service.stop()
      await libp2p.stop()
      await store.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A counter's value from the registry's text, summed over its labels (or one label set). */
export async function metricValue(metrics: Metrics, name: string, labels?: Record<string, string>): Promise<number> {
  const json = await metrics.registry.getMetricsAsJSON()
  const metric = json.find((m) => m.name === `bsv_p2p_${name}`)
  if (!metric) return 0
  let sum = 0
  for (const v of metric.values as { value: number; labels: Record<string, string | number> }[]) {
    if (labels && !Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val)) continue
    sum += v.value
  }
  return sum
}

/** The inbound messages stored from one peer, oldest first. */
export function inboundTexts(peer: TestPeer, from: string): string[] {
  return (peer.store.db.prepare(`SELECT text FROM messages WHERE peer_id = ? AND direction = 'in' ORDER BY seq`).all(from) as { text: string }[]).map((r) => r.text)
}

/** A hand-driven stream of the protocol: writes any bytes, collects the answers. */
export interface RawStream {
  stream: Stream
  answers: ResponseFrame[]
  write(bytes: Uint8Array): boolean
  close(): Promise<void>
}

export async function openRaw(from: Libp2pNode, to: Libp2pNode): Promise<RawStream> {
  const stream = await from.dialProtocol(to.peerId, MESSAGING_PROTOCOL, { runOnLimitedConnection: true })
  const reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES)
  const answers: ResponseFrame[] = []
  stream.addEventListener('message', (evt) => {
    for (const f of reader.push(evt.data)) {
      const parsed = parseResponseFrame(f)
      if (parsed.ok) answers.push(parsed.frame)
    }
  })
  return {
    stream,
    answers,
    write: (bytes) => stream.send(bytes),
    close: () => stream.close(),
  }
}

export function rawFrame(value: unknown): Uint8Array {
  return lengthPrefixed(new TextEncoder().encode(JSON.stringify(value)))
}
