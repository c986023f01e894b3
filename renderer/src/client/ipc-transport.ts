import type { Bridge } from '../../../shared/bridge.js'
import { type ConnectionState, Listeners, type Transport } from './transport.js'

/**
 * The Electron transport: the preload's frozen bridge. IPC does not drop while the window
 * lives, so the state is `open` from the start and `closed` after close().
 */
export function ipcTransport(bridge: Bridge): Transport {
  let state: ConnectionState = 'open'
  const states = new Listeners<[ConnectionState]>()
  const unsubscribes = new Set<() => void>()
  return {
    call: (method, params) => bridge.call(method, params),
    on(event, listener) {
      const off = bridge.on(event, listener)
      unsubscribes.add(off)
      return () => {
        unsubscribes.delete(off)
        off()
      }
    },
    onState(listener) {
      listener(state)
      return states.add(listener)
    },
    close() {
      if (state === 'closed') return
      for (const off of unsubscribes) off()
      unsubscribes.clear()
      state = 'closed'
      states.emit(state)
      states.clear()
    },
  }
}
