import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEvents } from './client.js'
import { EventRouter, Listeners, type Transport } from './transport.js'

function routerTransport(): { transport: Transport; emit: (event: string, payload: unknown) => void } {
  const router = new EventRouter()
  const transport: Transport = {
    call: async () => ({ ok: false, error: { code: 'internal', message: 'not in this test' } }),
    on: (event, l) => router.on(event, l),
    onState: () => () => {},
    close: () => {},
  }
  return { transport, emit: (event, payload) => router.emit(event, payload) }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('contract events in the renderer', () => {
  it('an event that fails its schema reaches no listener, is said in the console and counted once however many listen', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { transport, emit } = routerTransport()
    const events = createEvents(transport)
    const heard: string[] = []
    events.on('messageDeleted', (d) => heard.push(d.id))
    events.on('messageDeleted', (d) => heard.push(`again ${d.id}`))
    emit('messageDeleted', { seq: 1, peerId: 'p', id: 'm1' })
    emit('messageDeleted', { seq: -1, peerId: 'p', id: 'm2' })
    emit('messageDeleted', { seq: 2, peerId: 'p' })
    expect(heard).toEqual(['m1', 'again m1'])
    expect(events.rejected).toEqual({ messageDeleted: 2 })
    expect(warn).toHaveBeenCalledTimes(2)
    expect(String(warn.mock.calls[0]![0])).toContain('messageDeleted')
    expect(warn.mock.calls[0]![1]).toEqual([expect.objectContaining({ path: ['seq'] })])
  })

  it('a listener that throws is said in the console and the others still run', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const listeners = new Listeners<[number]>()
    const heard: number[] = []
    const bug = new Error('a view bug')
    listeners.add(() => {
      throw bug
    })
    listeners.add((n) => heard.push(n))
    listeners.emit(7)
    expect(heard).toEqual([7])
    expect(error).toHaveBeenCalledTimes(1)
    expect(error.mock.calls[0]![1]).toBe(bug)
  })
})
