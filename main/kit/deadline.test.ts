import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deadline } from './deadline.js'

describe('deadline', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('aborts on the timeout or the parent, and once released holds nothing on the parent', () => {
    vi.useFakeTimers()
    const parent = new AbortController()
    const timed = deadline(20, parent.signal)
    vi.advanceTimersByTime(19)
    expect(timed.signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    expect(timed.signal.aborted).toBe(true)
    expect(timed.timedOut()).toBe(true)
    expect((timed.signal.reason as DOMException).name).toBe('TimeoutError')
    timed.release()

    const followed = deadline(60_000, parent.signal)
    parent.abort(new Error('stopping'))
    expect(followed.signal.aborted).toBe(true)
    expect(followed.timedOut()).toBe(false)
    expect((followed.signal.reason as Error).message).toBe('stopping')
    followed.release()

    // Many short-lived deadlines on one long-lived parent leave no listener behind.
    const longLived = new AbortController()
    for (let i = 0; i < 1000; i++) deadline(60_000, longLived.signal).release()
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
    expect(deadline(10, AbortSignal.abort('gone')).signal.aborted).toBe(true)
  })
})
