import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Disposables } from './disposables.js'

describe('Disposables', () => {
  // Timers are fake where a test needs time to pass: it moves the clock exactly past each deadline.
  afterEach(() => {
    vi.useRealTimers()
  })

  it('releases everything in reverse order, once', async () => {
    const d = new Disposables()
    const order: number[] = []
    d.add(() => void order.push(1))
    d.add(() => void order.push(2))
    d.add(async () => void order.push(3))
    await d.dispose()
    await d.dispose()
    expect(order).toEqual([3, 2, 1])
    expect(d.size).toBe(0)
  })

  it('forgets a timer once it has fired, so repeating work does not grow it', async () => {
    const d = new Disposables()
    let fired = 0
    for (let i = 0; i < 1000; i++) d.timeout(() => void fired++, 0)
    expect(d.size).toBe(1000)
    // Timers of equal delay fire in the order set: when this last one fires, so have the others.
    await new Promise<void>((resolve) => d.timeout(resolve, 0))
    expect(fired).toBe(1000)
    expect(d.size).toBe(0)
    vi.useFakeTimers()
    // A cancelled timer never fires, even once its moment has passed (its twin, not cancelled, did fire).
    let cancelledFired = false
    let twinFired = false
    const cancel = d.timeout(() => void (cancelledFired = true), 10)
    d.timeout(() => void (twinFired = true), 10)
    cancel()
    expect(d.size).toBe(1)
    vi.advanceTimersByTime(10)
    expect(twinFired).toBe(true)
    expect(cancelledFired).toBe(false)
    expect(d.size).toBe(0)
  })

  it('removes emitter listeners and clears intervals on dispose', async () => {
    vi.useFakeTimers()
    const d = new Disposables()
    const emitter = new EventEmitter()
    let ticks = 0
    d.on(emitter, 'x', () => {})
    d.interval(() => void ticks++, 5)
    expect(emitter.listenerCount('x')).toBe(1)
    vi.advanceTimersByTime(10)
    expect(ticks).toBe(2)
    await d.dispose()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(50)
    expect(ticks).toBe(2)
    expect(emitter.listenerCount('x')).toBe(0)
  })

  it('runs every disposer even when some throw, then reports them', async () => {
    const d = new Disposables()
    let ran = false
    d.add(() => {
      ran = true
    })
    d.add(() => {
      throw new Error('one')
    })
    d.add(() => {
      throw new Error('two')
    })
    await expect(d.dispose()).rejects.toBeInstanceOf(AggregateError)
    expect(ran).toBe(true)
  })

  it('releases at once what is registered after dispose', async () => {
    const d = new Disposables()
    await d.dispose()
    let released = false
    d.add(() => {
      released = true
    })
    // Released on a microtask: every one queued before a macrotask has run by the time it does.
    await new Promise((r) => setImmediate(r))
    expect(released).toBe(true)
  })
})
