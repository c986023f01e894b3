import type { Envelope } from './contract/errors.js'

/**
 * What the preload exposes to the renderer as `window.bridge`, and the two IPC channels
 * behind it. One generic call and one generic subscription: the method list lives in the
 * contract, never here.
 */
export const IPC_CALL_CHANNEL = 'contract:call'
export const IPC_EVENT_CHANNEL = 'contract:event'

export interface Bridge {
  call(method: string, params?: unknown): Promise<Envelope<unknown>>
  /** Returns its own unsubscribe. */
  on(event: string, listener: (payload: unknown) => void): () => void
}
