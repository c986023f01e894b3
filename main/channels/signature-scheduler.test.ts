import { describe, expect, it } from 'vitest'
import { SignatureScheduler } from './signature-scheduler.js'

/** A clock the work advances: each piece of work "costs" what it says, no real time passes. */
function clocked(budgetMs: number, onLateError: (err: unknown) => void = (err) => {
  throw err
}): { s: SignatureScheduler; spend: (ms: number) => void } {
  let t = 0
  return { s: new SignatureScheduler(onLateError, budgetMs, () => t), spend: (ms) => void (t += ms) }
}

const nextTurnOfTheLoop = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('SignatureScheduler', () => {
  it('runs work at once while the turn of the event loop has budget, then queues it in order', async () => {
    const { s, spend } = clocked(4)
    const ran: string[] = []
    const work = (name: string) => () => {
      ran.push(name)
      spend(1.5)
    }
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) s.turn(work(name))
    // 1.5 + 1.5 + 1.5 crosses the 4 ms budget: the rest waits for the next turns.
    expect(ran).toEqual(['a', 'b', 'c'])
    expect(s.queued).toBe(4)
    await nextTurnOfTheLoop()
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    await nextTurnOfTheLoop()
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'])
    expect(s.queued).toBe(0)
  })

  it('serves channels in the order they asked, so a busy one cannot starve a quiet one', async () => {
    const { s, spend } = clocked(2)
    const ran: string[] = []
    // A busy channel asks again from inside each of its turns; the quiet one asked once, early.
    let busyTurns = 0
    const busy = (): void => {
      ran.push('busy')
      spend(1)
      if (++busyTurns < 20) s.turn(busy)
    }
    s.turn(busy)
    s.turn(busy)
    s.turn(() => ran.push('quiet'))
    for (let i = 0; i < 20 && ran.length < 21; i++) await nextTurnOfTheLoop()
    expect(ran.indexOf('quiet')).toBeLessThan(4)
  })

  it('a stop cancels what still waits (those that asked are told), and start takes turns again', async () => {
    const { s, spend } = clocked(1)
    s.turn(() => spend(5))
    let cancelled = 0
    let ran = 0
    s.turn(() => ran++, () => cancelled++)
    s.turn(() => ran++)
    s.stop()
    expect(cancelled).toBe(1)
    s.turn(() => ran++, () => cancelled++)
    expect(cancelled).toBe(2)
    await nextTurnOfTheLoop()
    expect(ran).toBe(0)
    s.start()
    s.turn(() => ran++)
    expect(ran).toBe(1)
  })

  it('a throw from a turn run late is reported, and the turns behind it still run', async () => {
    const reported: unknown[] = []
    const { s, spend } = clocked(1, (err) => reported.push(err))
    s.turn(() => spend(2))
    const ran: string[] = []
    s.turn(() => {
      throw new Error('broken work')
    })
    s.turn(() => ran.push('after'))
    await nextTurnOfTheLoop()
    expect(reported).toEqual([new Error('broken work')])
    expect(ran).toEqual(['after'])
  })
})
