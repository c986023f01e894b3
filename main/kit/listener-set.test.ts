import { describe, expect, it } from 'vitest'
import { ListenerSet, logListenerErrors, surfaceListenerErrors } from './listener-set.js'

describe('ListenerSet', () => {
  it('reports a throwing listener once, by name, and the others still run in order', () => {
    const reports: [string, unknown][] = []
    const set = new ListenerSet<[number]>('things', (what, err) => reports.push([what, err]))
    const heard: string[] = []
    set.add((n) => heard.push(`a${n}`))
    const boom = new Error('listener bug')
    set.add(() => {
      throw boom
    })
    set.add((n) => heard.push(`c${n}`))
    expect(() => set.emit(1)).not.toThrow()
    expect(heard).toEqual(['a1', 'c1'])
    expect(reports).toEqual([['things', boom]])
  })

  it('names a report by what was emitted when asked to (an event bus names the event)', () => {
    const reports: string[] = []
    const set = new ListenerSet<[string, unknown]>((event) => event, (what) => reports.push(what))
    set.add(() => {
      throw new Error('x')
    })
    set.emit('peers', {})
    set.emit('health', {})
    expect(reports).toEqual(['peers', 'health'])
  })

  it('each add returns its own removal, and a listener removed during an emit does not break it', () => {
    const set = new ListenerSet<[]>('s', () => {
      throw new Error('no listener should fail here')
    })
    const heard: string[] = []
    let removeB = (): void => {}
    set.add(() => {
      heard.push('a')
      removeB()
    })
    removeB = set.add(() => heard.push('b'))
    set.emit()
    set.emit()
    expect(heard).toEqual(['a', 'b', 'a'])
    expect(set.size).toBe(1)
  })

  it('reports to the new reporter after reportTo', () => {
    const first: unknown[] = []
    const second: unknown[] = []
    const set = new ListenerSet<[]>('s', (_w, err) => first.push(err))
    set.add(() => {
      throw new Error('late')
    })
    set.reportTo((_w, err) => second.push(err))
    set.emit()
    expect(first).toHaveLength(0)
    expect(second).toHaveLength(1)
  })

  it('logListenerErrors logs the error itself (the logger writes its stack and cause)', () => {
    const lines: [string, Record<string, unknown> | undefined][] = []
    const err = new Error('with stack')
    logListenerErrors({ error: (msg, fields) => lines.push([msg, fields]) })('chain', err)
    expect(lines).toEqual([['a listener failed', { what: 'chain', err }]])
  })

  it('surfaceListenerErrors rethrows outside the emitter, so an unreported failure is never silent', async () => {
    const seen = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve))
    const set = new ListenerSet<[]>('s', surfaceListenerErrors)
    const err = new Error('surfaced')
    set.add(() => {
      throw err
    })
    expect(() => set.emit()).not.toThrow()
    expect(await seen).toBe(err)
  })
})
