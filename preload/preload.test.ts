import { describe, expect, it, vi } from 'vitest'
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../shared/bridge.js'

// Electron cannot run here: the two objects the preload touches are stood in for.
const exposed: [string, unknown][] = []
const invoked: unknown[][] = []
const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>()
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push([key, api]) },
  ipcRenderer: {
    invoke: async (...args: unknown[]) => {
      invoked.push(args)
      return { ok: true, result: 'pong' }
    },
    on: (channel: string, l: (event: unknown, ...args: unknown[]) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel)!.add(l)
    },
    removeListener: (channel: string, l: (event: unknown, ...args: unknown[]) => void) => listeners.get(channel)?.delete(l),
  },
}))

describe('preload', () => {
  it('exposes exactly one frozen bridge with call and on, and nothing of ipcRenderer', async () => {
    await import('./index.js')
    expect(exposed.map(([key]) => key)).toEqual(['bridge'])
    const bridge = exposed[0]![1] as { call: (m: string, p?: unknown) => Promise<unknown>; on: (e: string, l: (p: unknown) => void) => () => void }
    expect(Object.isFrozen(bridge)).toBe(true)
    expect(Object.keys(bridge).sort()).toEqual(['call', 'on'])

    expect(await bridge.call('getHealth')).toEqual({ ok: true, result: 'pong' })
    expect(invoked).toEqual([[IPC_CALL_CHANNEL, 'getHealth', {}]])

    const seen: unknown[] = []
    const off = bridge.on('health', (p) => seen.push(p))
    for (const l of listeners.get(IPC_EVENT_CHANNEL)!) {
      l({ sender: 'must not reach the page' }, { event: 'health', payload: { status: 'ok' } })
      l({}, { event: 'peers', payload: [] })
      l({}, 'garbage')
    }
    expect(seen).toEqual([{ status: 'ok' }])
    off()
    expect(listeners.get(IPC_EVENT_CHANNEL)!.size).toBe(0)
  })
})
