// Every way a receiver can turn a message down settles the sender's call at once: a
// refusal fails it with its typed error, a rate refusal paces it (sent again after the
// time the receiver asked for), a reset or a closed stream sends it again on a new one.
// None waits for the 30-second deadline. The receiver here is a scripted libp2p node
// answering with our protocol's frames; the sender is the real service.
import type { Stream } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContractError } from '../../../shared/contract/index.js'
import type { Libp2pNode } from '../libp2p.js'
import { DEFAULT_MAX_FRAME_BYTES, MESSAGING_PROTOCOL } from './constants.js'
import { FrameReader, concatFrames } from '../../kit/index.js'
import { encodeAcks, encodeFrame, parseRequestFrame } from './frames.js'
import { type TestPeer, metricValue, startLibp2p, startPeer } from './test/fixtures.js'

type Script = (id: string, attempt: number, stream: Stream) => 'ack' | 'too_large' | 'invalid' | 'unavailable' | 'rate_limited' | 'reset' | 'close'

describe('a receiver that turns messages down', () => {
  let sender: TestPeer
  let receiver: Libp2pNode
  let script: Script = () => 'ack'
  const attempts = new Map<string, number>()
  const stored: string[] = []

  beforeAll(async () => {
    sender = await startPeer({ init: { deadlineMs: 30_000 } })
    receiver = await startLibp2p(['/ip4/127.0.0.1/tcp/0'])
    await receiver.handle(
      MESSAGING_PROTOCOL,
      (stream) => {
        const reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES)
        stream.addEventListener('message', (evt) => {
          for (const bytes of reader.push(evt.data)) {
            const parsed = parseRequestFrame(bytes)
            if (!parsed.ok) continue
            const id = parsed.frame.id
            const attempt = (attempts.get(id) ?? 0) + 1
            attempts.set(id, attempt)
            const answer = script(id, attempt, stream)
            if (answer === 'ack') {
              if (!stored.includes(id)) stored.push(id)
              stream.send(concatFrames(encodeAcks([id])))
            } else if (answer === 'reset') stream.abort(new Error('scripted reset'))
            else if (answer === 'close') void stream.close().catch(() => {})
            else stream.send(encodeFrame(answer === 'rate_limited' ? { t: 'nack', id, code: answer, retryAfterMs: 300 } : { t: 'nack', id, code: answer }))
            if (answer === 'reset' || answer === 'close') return
          }
        })
      },
      { runOnLimitedConnection: true },
    )
    await sender.libp2p.dial(receiver.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await sender?.stop()
    await receiver?.stop()
  })

  async function timed(text: string): Promise<{ outcome: string; ms: number }> {
    const started = performance.now()
    const outcome = await sender.service.sendMessage(receiver.peerId.toString(), text).then(
      () => 'delivered',
      (e: ContractError) => e.code,
    )
    return { outcome, ms: performance.now() - started }
  }

  it('too large and invalid fail at once with their typed errors', async () => {
    script = () => 'too_large'
    const tooLarge = await timed('a')
    script = () => 'invalid'
    const invalid = await timed('b')
    expect([tooLarge.outcome, invalid.outcome]).toEqual(['payload_too_large', 'rejected'])
    for (const t of [tooLarge, invalid]) expect(t.ms).toBeLessThan(5_000)
  })

  it('unavailable, a reset and a closed stream send it again; a rate refusal waits the time asked, then sends it again', async () => {
    for (const kind of ['unavailable', 'reset', 'close', 'rate_limited'] as const) {
      script = (_id, attempt) => (attempt === 1 ? kind : 'ack')
      const t = await timed(`once ${kind}`)
      expect({ kind, outcome: t.outcome }).toEqual({ kind, outcome: 'delivered' })
      expect(t.ms).toBeLessThan(5_000)
      if (kind === 'rate_limited') expect(t.ms).toBeGreaterThanOrEqual(250)
    }
    expect(await metricValue(sender.metrics, 'messaging_send_failures_total', { code: 'timeout' })).toBe(0)
  })

  it('a rate refusal in the middle of a burst keeps the order: the refused one and those after it go again, in order', async () => {
    stored.length = 0
    attempts.clear()
    const firstSeen: string[] = []
    let refusedOn: Stream | null = null
    script = (id, attempt, stream) => {
      if (attempt === 1) firstSeen.push(id)
      // The fourth message is refused for rate; as our receiver does, nothing after it on that stream is taken.
      if (refusedOn === null && firstSeen.length === 4 && attempt === 1) {
        refusedOn = stream
        setTimeout(() => void stream.close().catch(() => {}), 0)
        return 'rate_limited'
      }
      if (stream === refusedOn) return 'close'
      return 'ack'
    }
    const texts = Array.from({ length: 10 }, (_, i) => `ordered ${i}`)
    const ids = await Promise.all(texts.map((t) => sender.service.sendMessage(receiver.peerId.toString(), t).then((r) => r.id)))
    expect(refusedOn).not.toBeNull()
    expect(stored).toEqual(ids)
  })
})
