import { type Bridge, IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../shared/bridge.js'
import type { Envelope } from '../shared/contract/errors.js'

/** The part of Electron's ipcRenderer the bridge uses, so it runs under Node tests too. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
}

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/

/**
 * The renderer's whole view of the main process: one generic call and one generic
 * subscription, frozen. The raw IPC event never reaches the page (it would expose
 * `sender`); one IPC listener feeds every subscription and is removed with the last.
 */
export function createBridge(ipc: IpcRendererLike): Bridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  let attached = false

  const route = (_event: unknown, message: unknown): void => {
    if (!message || typeof message !== 'object') return
    const { event, payload } = message as { event?: unknown; payload?: unknown }
    if (typeof event !== 'string') return
    for (const l of [...(listeners.get(event) ?? [])]) {
      try {
        l(payload)
      } catch {
        // a page listener's failure is its own
      }
    }
  }

  const detachIfIdle = (): void => {
    if (attached && listeners.size === 0) {
      ipc.removeListener(IPC_EVENT_CHANNEL, route as never)
      attached = false
    }
  }

  return Object.freeze({
    async call(method: string, params?: unknown): Promise<Envelope<unknown>> {
      if (typeof method !== 'string' || !METHOD_NAME.test(method)) return { ok: false, error: { code: 'unknown_method', message: 'unknown method' } }
      try {
        return (await ipc.invoke(IPC_CALL_CHANNEL, method, params ?? {})) as Envelope<unknown>
      } catch {
        return { ok: false, error: { code: 'unavailable', message: 'The wallet engine did not answer.' } }
      }
    },
    on(event: string, listener: (payload: unknown) => void): () => void {
      if (typeof event !== 'string' || typeof listener !== 'function') return () => {}
      let set = listeners.get(event)
      if (!set) {
        set = new Set()
        listeners.set(event, set)
      }
      set.add(listener)
      if (!attached) {
        ipc.on(IPC_EVENT_CHANNEL, route as never)
        attached = true
      }
      let done = false
      return () => {
        if (done) return
        done = true
        set.delete(listener)
        if (set.size === 0) listeners.delete(event)
        detachIfIdle()
      }
    },
  })
}
