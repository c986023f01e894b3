import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { emitterListenerCount, registerListenerGauge, targetListenerCount } from './listeners.js'
import { Metrics } from './metrics.js'

function gaugeLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('bsv_p2p_event_listeners{'))
}

describe('event listener gauge', () => {
  it('counts every listener of an EventEmitter, across event names', () => {
    const e = new EventEmitter()
    expect(emitterListenerCount(e)).toBe(0)
    const f = (): void => {}
    e.on('a', f)
    e.on('a', () => {})
    e.once('b', () => {})
    expect(emitterListenerCount(e)).toBe(3)
    e.off('a', f)
    e.emit('b')
    expect(emitterListenerCount(e)).toBe(1)
  })

  it('counts listeners of an EventTarget-like source for the named types only', () => {
    const counts: Record<string, number> = { 'peer:connect': 2, 'peer:disconnect': 1, other: 7 }
    const target = { listenerCount: (type: string) => counts[type] ?? 0 }
    expect(targetListenerCount(target, ['peer:connect', 'peer:disconnect', 'missing'])).toBe(3)
  })

  it('reports each source at scrape time, follows changes, and reads a failing source as 0', async () => {
    const metrics = new Metrics()
    const e = new EventEmitter()
    let broken = false
    registerListenerGauge(metrics, {
      bus: () => emitterListenerCount(e),
      p2p: () => {
        if (broken) throw new Error('not running')
        return 4
      },
    })
    e.on('x', () => {})
    expect(gaugeLines(await metrics.text())).toEqual(['bsv_p2p_event_listeners{source="bus"} 1', 'bsv_p2p_event_listeners{source="p2p"} 4'])
    e.on('y', () => {})
    e.on('y', () => {})
    broken = true
    expect(gaugeLines(await metrics.text())).toEqual(['bsv_p2p_event_listeners{source="bus"} 3', 'bsv_p2p_event_listeners{source="p2p"} 0'])
  })

  it('registering twice on one registry keeps one metric (an engine rebuilt in-process)', async () => {
    const metrics = new Metrics()
    registerListenerGauge(metrics, { a: () => 1 })
    registerListenerGauge(metrics, { a: () => 1 })
    expect(gaugeLines(await metrics.text())).toHaveLength(1)
  })
})
