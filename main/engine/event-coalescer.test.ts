import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '../../shared/contract/index.js'
import { type CoalescerClock, MessageEventCoalescer } from './event-coalescer.js'

/** A clock whose time moves only when the test says so. */
function manualClock(): CoalescerClock & { advance(ms: number): void; pending(): number } {
  let now = 1_000
  let timers: { at: number; fn: () => void; handle: number }[] = []
  let next = 1
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const handle = next++
      timers.push({ at: now + ms, fn, handle })
      return handle
    },
    clearTimeout(handle) {
      timers = timers.filter((t) => t.handle !== handle)
    },
    advance(ms) {
      const until = now + ms
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        timers = timers.filter((t) => t !== due)
        now = due.at
        due.fn()
      }
      now = until
    },
    pending: () => timers.length,
  }
}

function bus() {
  const listeners = new Set<(event: string, payload: unknown) => void>()
  const failures: { event: string; err: unknown }[] = []
  return {
    failures,
    listenerFailed: (event: string, err: unknown) => failures.push({ event, err }),
    onAny(l: (event: string, payload: unknown) => void) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    emit: (event: string, payload: unknown) => {
      for (const l of listeners) l(event, payload)
    },
    get size() {
      return listeners.size
    },
  }
}

const msg = (seq: number, status: Message['status'] = 'received'): Message => ({
  id: `m${seq}`,
  seq,
  peerId: 'peer',
  direction: status === 'received' ? 'in' : 'out',
  text: `text ${seq}`,
  sentAt: '2026-01-01T00:00:00.000Z',
  receivedAt: null,
  status,
})

type Batch = { messages: Message[]; resync: boolean }

function setup(maxBatch = 500) {
  const clock = manualClock()
  const source = bus()
  const coalescer = new MessageEventCoalescer(source, { clock, windowMs: 100, maxBatch })
  const out: { event: string; payload: unknown }[] = []
  const off = coalescer.onAny((event, payload) => out.push({ event, payload }))
  const batches = (): Batch[] => out.filter((e) => e.event === 'messages').map((e) => e.payload as Batch)
  return { clock, source, out, off, batches }
}

describe('MessageEventCoalescer', () => {
  it('reports a listener that throws on a batch (sent from a timer) and still serves the others', () => {
    const { clock, source, batches } = setup()
    const coalescer = new MessageEventCoalescer(source, { clock, windowMs: 100 })
    const heard: string[] = []
    coalescer.onAny(() => {
      throw new Error('window destroyed')
    })
    coalescer.onAny((event) => heard.push(event))
    source.emit('message', msg(1))
    expect(() => clock.advance(200)).not.toThrow()
    expect(heard).toContain('messages')
    expect(source.failures.map((f) => [f.event, (f.err as Error).message])).toContainEqual(['messages', 'window destroyed'])
    expect(batches()).toHaveLength(1)
  })


  it('sends a lone message at once and other events untouched', () => {
    const { clock, source, out, batches } = setup()
    source.emit('health', { status: 'ok' })
    expect(out).toEqual([{ event: 'health', payload: { status: 'ok' } }])
    source.emit('message', msg(1))
    expect(batches()).toHaveLength(0)
    clock.advance(0)
    expect(batches()).toEqual([{ messages: [msg(1)], resync: false }])
    expect(out.some((e) => e.event === 'message')).toBe(false)
  })

  it('turns a flood of 10,000 messages a second into at most one bounded batch per 100 ms, then resync', () => {
    const { clock, source, batches } = setup(500)
    // One second: 10 messages every millisecond.
    let seq = 0
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 10; i++) source.emit('message', msg(++seq))
      clock.advance(1)
    }
    clock.advance(100)
    const got = batches()
    expect(got.length).toBeGreaterThanOrEqual(10)
    expect(got.length).toBeLessThanOrEqual(11)
    for (const b of got) expect(b.messages.length).toBeLessThanOrEqual(500)
    // Each full window held about 1,000: the oldest were left out and the batch says resync, keeping the newest.
    const full = got.filter((b) => b.resync)
    expect(full.length).toBeGreaterThanOrEqual(9)
    expect(got.at(-1)!.messages.at(-1)!.seq).toBe(10_000)
    expect(full[0]!.messages).toHaveLength(500)
  })

  it('keeps the newest view of each seq in its place, and drops a deleted one', () => {
    const { clock, source, out, batches } = setup()
    source.emit('message', msg(1))
    clock.advance(0)
    source.emit('message', msg(2, 'pending'))
    source.emit('message', msg(3, 'pending'))
    source.emit('message', msg(2, 'delivered'))
    source.emit('messageDeleted', { seq: 3, peerId: 'peer', id: 'm3' })
    clock.advance(99)
    expect(batches()).toHaveLength(1)
    clock.advance(1)
    expect(batches()[1]).toEqual({ messages: [msg(2, 'delivered')], resync: false })
    expect(out.findIndex((e) => e.event === 'messageDeleted')).toBeLessThan(out.length - 1)
  })

  it('unsubscribes from its source and clears its timer when the last listener goes', () => {
    const { clock, source, off, batches } = setup()
    expect(source.size).toBe(1)
    source.emit('message', msg(1))
    off()
    expect(source.size).toBe(0)
    expect(clock.pending()).toBe(0)
    clock.advance(1000)
    expect(batches()).toHaveLength(0)
  })
})

describe('MessageEventCoalescer on the system clock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends the next window on time after the wall clock is set back an hour', async () => {
    const source = bus()
    const coalescer = new MessageEventCoalescer(source, { windowMs: 50 })
    const batches: Batch[] = []
    const off = coalescer.onAny((event, payload) => {
      if (event === 'messages') batches.push(payload as Batch)
    })
    try {
      source.emit('message', msg(1))
      await new Promise((r) => setTimeout(r, 10))
      expect(batches).toHaveLength(1)
      // Only Date moves; timers keep real time.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() - 3_600_000)
      source.emit('message', msg(2))
      await new Promise((r) => setTimeout(r, 200))
      expect(batches.map((b) => b.messages.map((m) => m.seq))).toEqual([[1], [2]])
    } finally {
      off()
    }
  })
})
