// A burst of inbound connection attempts against one libp2p TCP port on 127.0.0.1: raw
// sockets that close at once, send garbage, or start a multistream(-select) handshake and
// stall; and real libp2p dials from throwaway identities (TCP + noise + yamux, nothing
// else), which complete the upgrade and hold their connection. Bounded in concurrency,
// count and time.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'

const STORM_KINDS = ['close', 'garbage', 'multistream-stall', 'noise-stall', 'libp2p'] as const
type StormKind = (typeof STORM_KINDS)[number]

/** What happened to one attempt. */
type StormOutcome =
  /** The target closed the socket within a second (refused by a limit, or the garbage was rejected). */
  | 'closed-fast'
  /** The target held the socket for a while, then closed it (an upgrade timeout). */
  | 'closed-late'
  /** Still open when the attempt's hold time ran out (we closed it). */
  | 'held'
  /** We closed it at once (the 'close' kind). */
  | 'dropped'
  /** A libp2p dial that completed: a connection the target accepted. */
  | 'dial-ok'
  /** A libp2p dial the target refused or that failed. */
  | 'dial-failed'
  | 'socket-error'

export interface StormOptions {
  port: number
  /** The target's peer id, for the real libp2p dials. */
  peerId: string
  attempts: number
  /** How many of the attempts are real libp2p dials (each from its own identity). */
  libp2pDials: number
  concurrency: number
  /** How long a raw socket or a libp2p connection is held at most (ms). */
  holdMs: number
  random: () => number
}

export interface StormResult {
  attempts: number
  byKind: Record<string, number>
  outcomes: Record<string, number>
  ms: number
}

// Length-prefixed (uvarint) multistream-select lines.
const DIAL_CONCURRENCY = 16

/** Why attempts failed before connecting, by error code or message (for the log). */
export const errorCodes = new Map<string, number>()

const MULTISTREAM = Buffer.from('\x13/multistream/1.0.0\n', 'latin1')
const NOISE = Buffer.from('\x07/noise\n', 'latin1')

function rawAttempt(port: number, kind: Exclude<StormKind, 'libp2p'>, holdMs: number): Promise<StormOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let openedAt = 0
    let done = false
    const finish = (outcome: StormOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish(openedAt === 0 ? 'socket-error' : 'held'), holdMs)
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (openedAt === 0) errorCodes.set(err.code ?? err.message, (errorCodes.get(err.code ?? err.message) ?? 0) + 1)
      finish(openedAt === 0 ? 'socket-error' : Date.now() - openedAt < 1000 ? 'closed-fast' : 'closed-late')
    })
    socket.on('close', () => finish(Date.now() - openedAt < 1000 ? 'closed-fast' : 'closed-late'))
    socket.on('data', () => {})
    socket.on('connect', () => {
      openedAt = Date.now()
      switch (kind) {
        case 'close':
          finish('dropped')
          return
        case 'garbage':
          socket.write(randomBytes(1 + Math.floor(Math.random() * 512)))
          return
        case 'multistream-stall':
          socket.write(MULTISTREAM)
          return
        case 'noise-stall':
          socket.write(Buffer.concat([MULTISTREAM, NOISE]))
          return
      }
    })
  })
}

/** Throwaway libp2p nodes for real dials: no listen address, no services. */
export async function dialers(count: number): Promise<Libp2p[]> {
  const nodes: Libp2p[] = []
  for (let i = 0; i < count; i++) {
    const node = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: 4 },
    })
    nodes.push(node)
  }
  return nodes
}

/** Dial; on success the connection is held in the background (the returned hold) so the dial slot frees at once. */
async function libp2pAttempt(node: Libp2p, target: string, holding: () => boolean, holds: Promise<void>[]): Promise<StormOutcome> {
  try {
    const conn = await node.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })
    // Hold it, so the connections pile up at the target until it prunes or refuses them.
    holds.push(
      (async () => {
        for (let i = 0; i < 100_000 && holding() && conn.status === 'open'; i++) await new Promise((r) => setTimeout(r, 100))
        await conn.close().catch(() => {})
      })(),
    )
    return 'dial-ok'
  } catch (err) {
    const key = (err as Error).name + ': ' + (err as Error).message.slice(0, 80)
    errorCodes.set(key, (errorCodes.get(key) ?? 0) + 1)
    return 'dial-failed'
  }
}

/**
 * The burst: `attempts` attempts (the libp2p dials first, see below), at most
 * `concurrency` at a time. Resolves when every attempt has settled.
 */
export async function connectionStorm(opts: StormOptions, nodes: Libp2p[]): Promise<StormResult> {
  const started = Date.now()
  const target = `/ip4/127.0.0.1/tcp/${opts.port}/p2p/${opts.peerId}`
  const rawKinds = STORM_KINDS.filter((k): k is Exclude<StormKind, 'libp2p'> => k !== 'libp2p')
  const fastKinds: Exclude<StormKind, 'libp2p'>[] = ['close', 'garbage']
  // The burst opens with the real dials, each beside a raw attempt that is over at once; the
  // rest (every raw kind at random, stalled handshakes included) starts once every dial has
  // started, so the dials fill the connection table before stalls fill the pending slots.
  const plan: StormKind[] = []
  for (let i = 0; i < opts.libp2pDials && plan.length < opts.attempts; i++) {
    plan.push('libp2p')
    if (plan.length < opts.attempts) plan.push(fastKinds[Math.floor(opts.random() * fastKinds.length)]!)
  }
  while (plan.length < opts.attempts) plan.push(rawKinds[Math.floor(opts.random() * rawKinds.length)]!)
  const byKind: Record<string, number> = {}
  const outcomes: Record<string, number> = {}
  const holds: Promise<void>[] = []
  // Two pools over one plan: the real dials (each a full noise handshake at the target,
  // CPU-heavy) at most DIAL_CONCURRENCY at a time, the raw attempts at `concurrency`.
  const dials = plan.filter((k) => k === 'libp2p').length
  const raws = plan.filter((k): k is Exclude<StormKind, 'libp2p'> => k !== 'libp2p')
  let nextDial = 0
  let nextRaw = 0
  const count = (kind: string, outcome: StormOutcome): void => {
    byKind[kind] = (byKind[kind] ?? 0) + 1
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
  }
  // Every real connection is held until holdMs after the last dial settled, so they pile up.
  let dialsDoneAt = 0
  const holding = (): boolean => dialsDoneAt === 0 || Date.now() < dialsDoneAt + opts.holdMs
  const dialWorker = async (): Promise<void> => {
    while (nextDial < dials) {
      const node = nodes[nextDial++ % nodes.length]!
      count('libp2p', await libp2pAttempt(node, target, holding, holds))
    }
  }
  const dialPool = Promise.all(Array.from({ length: DIAL_CONCURRENCY }, () => dialWorker())).then(() => {
    dialsDoneAt = Date.now()
  })
  const fastPrefix = dials
  const rawWorker = async (): Promise<void> => {
    while (nextRaw < raws.length) {
      while (nextRaw >= fastPrefix && nextDial < dials) await new Promise((r) => setTimeout(r, 20))
      if (nextRaw >= raws.length) break
      const kind = raws[nextRaw++]!
      count(kind, await rawAttempt(opts.port, kind, opts.holdMs))
    }
  }
  await Promise.all([dialPool, ...Array.from({ length: opts.concurrency }, () => rawWorker())])
  await Promise.all(holds)
  return { attempts: plan.length, byKind, outcomes, ms: Date.now() - started }
}
