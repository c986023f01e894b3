// Drives generated frames into a real node over real libp2p streams: several streams at
// once per attacker connection, each carrying a batch cut into random chunks, then closed.
import type { PeerId } from '@libp2p/interface'
import type { Libp2pNode } from '../../../../main/p2p/libp2p.js'
import type { Prng } from './prng.js'
import { type WireInput, chunked } from './wire-inputs.js'

export interface BarrageResult {
  inputs: number
  streams: number
  /** Streams the target reset (framing errors, stream limits): expected, counted. */
  resets: number
  /** Streams that could not be opened (the target's stream limit): retried. */
  refusedOpens: number
  answerBytes: number
  byKind: Record<string, number>
}

const STREAM_TIMEOUT_MS = 15_000

async function oneStream(attacker: Libp2pNode, target: PeerId, protocol: string, r: Prng, batch: WireInput[], result: BarrageResult): Promise<boolean> {
  let stream
  try {
    stream = await attacker.dialProtocol(target, protocol, { signal: AbortSignal.timeout(STREAM_TIMEOUT_MS), runOnLimitedConnection: true })
  } catch {
    result.refusedOpens++
    return false
  }
  const closed = new Promise<boolean>((resolve) => {
    stream.addEventListener('close', (evt) => resolve(evt.error !== undefined))
  })
  stream.addEventListener('message', (evt) => {
    result.answerBytes += evt.data.byteLength
  })
  try {
    for (const chunk of chunked(r, batch)) {
      if (stream.writeStatus !== 'writable') break
      if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
    }
    await stream.close({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
  } catch {
    // The target reset the stream mid-batch (what it must do on broken framing).
  }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STREAM_TIMEOUT_MS).unref())
  const outcome = await Promise.race([closed, timer])
  if (outcome === 'timeout') stream.abort(new Error('the target neither answered nor closed'))
  if (outcome !== false) result.resets++
  result.streams++
  result.inputs += batch.length
  for (const i of batch) result.byKind[i.kind] = (result.byKind[i.kind] ?? 0) + 1
  return true
}

/**
 * Sends `total` generated inputs to `protocol` on `target`: `parallel` streams at a time per
 * attacker, batches of up to `batchSize` frames (a framing error ends a batch early).
 */
export async function streamBarrage(opts: {
  attackers: Libp2pNode[]
  target: PeerId
  protocol: string
  r: Prng
  total: number
  batchSize: number
  parallel: number
  makeBatch: (r: Prng, size: number) => WireInput[]
  deadlineMs: number
}): Promise<BarrageResult> {
  const result: BarrageResult = { inputs: 0, streams: 0, resets: 0, refusedOpens: 0, answerBytes: 0, byKind: {} }
  const deadline = Date.now() + opts.deadlineMs
  const lane = async (attacker: Libp2pNode): Promise<void> => {
    while (result.inputs < opts.total && Date.now() < deadline) {
      const batch = opts.makeBatch(opts.r, Math.min(opts.batchSize, opts.total - result.inputs))
      if (!(await oneStream(attacker, opts.target, opts.protocol, opts.r, batch, result))) await new Promise((r) => setTimeout(r, 50))
    }
  }
  await Promise.all(opts.attackers.flatMap((a) => Array.from({ length: opts.parallel }, () => lane(a))))
  return result
}
