import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Disposables } from './disposables.js'

describe('Disposables', () => {
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
    await new Promise((r) => setTimeout(r, 20))
    expect(fired).toBe(1000)
    expect(d.size).toBe(0)
    const cancel = d.timeout(() => void fired++, 10)
    cancel()
    expect(d.size).toBe(0)
    await new Promise((r) => setTimeout(r, 30))
    expect(fired).toBe(1000)
  })

  it('removes emitter listeners and clears intervals on dispose', async () => {
    const d = new Disposables()
    const emitter = new EventEmitter()
    let ticks = 0
    d.on(emitter, 'x', () => {})
    d.interval(() => void ticks++, 5)
    expect(emitter.listenerCount('x')).toBe(1)
    await d.dispose()
    const after = ticks
    await new Promise((r) => setTimeout(r, 30))
    expect(ticks).toBe(after)
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
    await new Promise((r) => setTimeout(r, 5))
    expect(released).toBe(true)
  })
})
