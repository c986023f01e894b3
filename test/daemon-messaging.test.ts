// Messaging under backpressure, as a program uses it: two daemons, 1,000 `sendMessage`
// calls over the HTTP API with 50 in flight, faster than the receiver's budget (200/s,
// burst 400). The sender paces itself to the receiver's refusals: every message is
// delivered once, in the order the sender took them, no call waits much past what the
// budget implies, and none times out.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type DaemonProc, startDaemon, tempDir } from './helpers/processes.js'

const MESSAGES = 1_000
const IN_FLIGHT = 50
const RATE = 200
const BURST = 400

const cleanups: (() => unknown)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function daemon(): Promise<DaemonProc> {
  const dir = tempDir('bsv-p2p-msg-')
  writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ messaging: { ratePerSec: RATE, burst: BURST } }))
  const d = await startDaemon(dir.path, [], {}, { logLevel: 'warn' })
  cleanups.push(dir.remove, () => d.kill('SIGKILL'))
  return d
}

interface MessageView {
  id: string
  seq: number
  text: string
  direction: 'in' | 'out'
  status: string
}

describe('sendMessage over the API, faster than the receiver takes', () => {
  it(`${MESSAGES} messages, ${IN_FLIGHT} in flight: each delivered once, in order, paced, none timed out`, async () => {
    const [a, b] = await Promise.all([daemon(), daemon()])
    const direct = ((await b.health()).multiaddrs as string[]).find((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m))!
    expect((await a.call('connectPeer', { multiaddr: direct })).body.ok).toBe(true)
    let next = 0
    const outcomes = new Map<string, number>()
    const latencies: number[] = []
    const started = performance.now()
    const worker = async (): Promise<void> => {
      while (next < MESSAGES) {
        const i = next++
        const t0 = performance.now()
        const res = await a.call<{ id: string }>('sendMessage', { peerId: b.peerId, text: `m${i}` })
        latencies.push(performance.now() - t0)
        const key = res.body.ok ? 'ok' : (res.body.error?.code ?? String(res.status))
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    const seconds = (performance.now() - started) / 1000
    expect(Object.fromEntries(outcomes)).toEqual({ ok: MESSAGES })

    // What the budget implies: the burst at once, the rest at the rate.
    const implied = (MESSAGES - BURST) / RATE
    expect(Math.max(...latencies) / 1000).toBeLessThan(implied + 5)
    expect(seconds).toBeLessThan(implied + 10)

    // Exactly once, and in the order the sender took them (its own record's order).
    const list = async (d: DaemonProc, direction: 'in' | 'out'): Promise<MessageView[]> => {
      const all: MessageView[] = []
      let before: number | undefined
      for (let page = 0; page < 10; page++) {
        const res = await d.call<MessageView[]>('listMessages', { peerId: direction === 'out' ? b.peerId : a.peerId, limit: 500, ...(before ? { before } : {}) })
        const rows = res.body.result ?? []
        all.push(...rows)
        if (rows.length < 500) break
        before = rows.at(-1)!.seq
      }
      return all.filter((m) => m.direction === direction).sort((x, y) => x.seq - y.seq)
    }
    const sent = await list(a, 'out')
    const received = await list(b, 'in')
    expect(sent).toHaveLength(MESSAGES)
    expect(sent.every((m) => m.status === 'delivered')).toBe(true)
    expect(received.map((m) => m.id)).toEqual(sent.map((m) => m.id))
    expect(new Set(received.map((m) => m.id)).size).toBe(MESSAGES)
    process.stdout.write(`${JSON.stringify({ scenario: 'messaging-backpressure', messages: MESSAGES, inFlight: IN_FLIGHT, seconds: Math.round(seconds * 10) / 10, impliedSeconds: implied, maxCallMs: Math.round(Math.max(...latencies)) })}\n`)
  }, 120_000)
})
