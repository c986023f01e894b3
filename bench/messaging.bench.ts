// Direct messages (issue 4): pipelined messages/s and sequential round-trip p50/p99 on one
// connection, direct and through a circuit relay. The sender runs here; the receiver (and
// the relay) each run in their own process, as in a real deployment. Every figure stands
// beside a baseline measured in the same run over the same connection: raw libp2p
// length-prefixed writes of the same frame bytes, echoed per frame (bench/messaging-raw.ts).
// Warm-up rounds are discarded.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeFrame } from '../main/p2p/messaging/frames.js'
import { type TestPeer, startPeer } from '../main/p2p/messaging/test/fixtures.js'
import { type Proc, firstLine, runEntry } from '../test/helpers/processes.js'
import { openRawEcho } from './messaging-raw.js'
import { type BenchResult, round, summarise } from './types.js'

const TEXT = 'a direct message of about the size a person writes, sixty-four c'
const UNLIMITED = { ratePerSec: 1_000_000_000, burst: 1_000_000_000 }

export interface MessagingBenchOptions {
  quick?: boolean
}

interface Sizes {
  pipelined: number
  sequential: number
  warmup: number
}

function frameBytes(i: number): Uint8Array {
  return encodeFrame({ t: 'msg', id: `bench-${String(i).padStart(10, '0')}-raw`, text: TEXT, sentAt: Date.now() })
}

async function rawPipelined(a: TestPeer, to: PeerId, n: number): Promise<number> {
  const raw = await openRawEcho(a.libp2p, to)
  let target = 0
  const run = async (count: number): Promise<number> => {
    const t0 = performance.now()
    for (let i = 0; i < count; i++) {
      if (!raw.stream.send(frameBytes(i))) await raw.stream.onDrain()
    }
    target += count
    await raw.waitFor(target)
    return performance.now() - t0
  }
  await run(Math.min(1000, n)) // warm-up
  const ms = await run(n)
  await raw.stream.close()
  return n / (ms / 1000)
}

async function rawSequential(a: TestPeer, to: PeerId, sizes: Sizes): Promise<number[]> {
  const raw = await openRawEcho(a.libp2p, to)
  const rtts: number[] = []
  for (let i = 0; i < sizes.warmup + sizes.sequential; i++) {
    const t0 = performance.now()
    raw.stream.send(frameBytes(i))
    await raw.waitFor(i + 1)
    if (i >= sizes.warmup) rtts.push(performance.now() - t0)
  }
  await raw.stream.close()
  return rtts
}

async function oursPipelined(a: TestPeer, to: string, n: number): Promise<number> {
  const run = async (count: number): Promise<number> => {
    const t0 = performance.now()
    await Promise.all(Array.from({ length: count }, () => a.service.sendMessage(to, TEXT)))
    return performance.now() - t0
  }
  await run(Math.min(1000, n)) // warm-up
  const ms = await run(n)
  return n / (ms / 1000)
}

async function oursSequential(a: TestPeer, to: string, sizes: Sizes): Promise<number[]> {
  const rtts: number[] = []
  for (let i = 0; i < sizes.warmup + sizes.sequential; i++) {
    const t0 = performance.now()
    await a.service.sendMessage(to, TEXT)
    if (i >= sizes.warmup) rtts.push(performance.now() - t0)
  }
  return rtts
}

async function measure(label: string, a: TestPeer, to: string, sizes: Sizes, target?: string): Promise<BenchResult[]> {
  const peer = peerIdFromString(to)
  const rawRate = await rawPipelined(a, peer, sizes.pipelined)
  const ourRate = await oursPipelined(a, to, sizes.pipelined)
  const rawRtt = summarise(await rawSequential(a, peer, sizes))
  const ourRtt = summarise(await oursSequential(a, to, sizes))
  return [
    {
      name: `messages pipelined, ${label} (one connection, window 256)`,
      unit: 'msgs/s',
      value: Math.round(ourRate),
      samples: sizes.pipelined,
      baseline: Math.round(rawRate),
      baselineName: 'raw lp writes',
      ratio: round(ourRate / rawRate, 3),
      target,
      note: 'validated, stored durably on both sides (group commit, synchronous=FULL, FTS5), acked end to end',
    },
    {
      name: `message round trip sequential, ${label}`,
      unit: 'ms',
      value: round(ourRtt.p50, 3),
      p50: round(ourRtt.p50, 3),
      p95: round(ourRtt.p95, 3),
      p99: round(ourRtt.p99, 3),
      max: round(ourRtt.max, 3),
      samples: ourRtt.samples,
      baseline: round(rawRtt.p50, 3),
      baselineName: `raw lp echo p50; p99 ${round(rawRtt.p99, 3)}`,
      ratio: round(rawRtt.p50 / ourRtt.p50, 3),
      note: 'ratio = raw p50 / ours p50; each message costs three durable commits (sender pending, receiver insert, sender delivered)',
    },
  ]
}

async function spawnPeer(args: string[]): Promise<{ proc: Proc; peerId: string; addrs: string[] }> {
  const proc = runEntry('bench/fixtures/messaging-peer.ts', args)
  const info = JSON.parse(await firstLine(proc)) as { peerId: string; addrs: string[] }
  return { proc, ...info }
}

export async function runMessagingBench(opts: MessagingBenchOptions = {}): Promise<BenchResult[]> {
  const sizes: Sizes = opts.quick ? { pipelined: 5_000, sequential: 300, warmup: 50 } : { pipelined: 20_000, sequential: 2_000, warmup: 200 }
  const results: BenchResult[] = []
  const procs: Proc[] = []
  const a = await startPeer({ listen: [], init: { rateLimit: UNLIMITED, maxQueuedPerPeer: 100_000 } })
  try {
    const direct = await spawnPeer(['--role', 'receiver'])
    procs.push(direct.proc)
    await a.libp2p.dial(multiaddr(direct.addrs[0]!))
    results.push(...(await measure('direct', a, direct.peerId, sizes, 'audit: > 100 msgs/s; ours: >= 10,000 msgs/s and >= 0.7 of raw')))

    // Relayed: the receiver listens only on /p2p-circuit and the sender nowhere, so every
    // byte crosses the relay (a third process).
    const relay = await spawnPeer(['--role', 'relay'])
    procs.push(relay.proc)
    const relayAddr = relay.addrs.find((m) => m.startsWith('/ip4/127.0.0.1/tcp/'))!
    const relayed = await spawnPeer(['--role', 'receiver', '--relay', relayAddr])
    procs.push(relayed.proc)
    const circuit = relayed.addrs.find((m) => m.includes('/p2p-circuit'))
    if (!circuit) throw new Error('the relayed receiver got no reservation')
    const conn = await a.libp2p.dial(multiaddr(circuit))
    if (conn.limits === undefined) throw new Error('expected a limited (relayed) connection')
    results.push(...(await measure('relayed', a, relayed.peerId, { ...sizes, pipelined: Math.round(sizes.pipelined / 2) }, 'audit: > 100 msgs/s')))

    // A sender faster than the receiver allows: it paces itself to the refusals, so what
    // gets through should be the receiver's budget (ratio close to 1), with no caller retrying.
    const budget = { rate: 2_000, burst: 2_000 }
    const limited = await spawnPeer(['--role', 'receiver', '--rate', String(budget.rate), '--burst', String(budget.burst)])
    procs.push(limited.proc)
    await a.libp2p.dial(multiaddr(limited.addrs[0]!))
    const n = opts.quick ? 8_000 : 20_000
    const t0 = performance.now()
    const outcomes = await Promise.all(Array.from({ length: n }, () => a.service.sendMessage(limited.peerId, TEXT).then(() => true, () => false)))
    const seconds = (performance.now() - t0) / 1000
    const delivered = outcomes.filter(Boolean).length
    // Past the burst, the budget's rate is the most that can get through.
    const rate = (delivered - budget.burst) / seconds
    results.push({
      name: `messages over the receiver's budget (${budget.rate.toLocaleString('en-US')}/s, burst ${budget.burst.toLocaleString('en-US')}), all sent at once`,
      unit: 'msgs/s',
      value: Math.round(rate),
      samples: n,
      baseline: budget.rate,
      baselineName: 'the receiver’s budget',
      ratio: round(rate / budget.rate, 3),
      target: 'ratio close to 1; every message delivered, in order, no caller retry',
      note: `${delivered} of ${n} delivered in ${round(seconds, 2)} s`,
    })
  } finally {
    await a.stop()
    await Promise.all(procs.map((p) => p.kill()))
  }
  return results
}
