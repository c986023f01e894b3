import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from '../../shared/bridge.js'
import { dispatch } from '../../shared/contract/dispatch.js'
import { type AnyEventSource, MessageEventCoalescer } from '../engine/index.js'
import type { ApiHandlers, Envelope } from '../../shared/contract/index.js'
import { type Logger, contractChecks, unexpectedErrorReporter } from '../telemetry/index.js'

// The shapes of Electron's objects this module touches, so it runs in Node tests with
// plain fakes. No 'electron' import here.
export interface FrameLike {
  url: string
  parent: FrameLike | null
}
export interface InvokeEventLike {
  senderFrame: FrameLike | null
}
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void
  removeHandler(channel: string): void
}
export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void
  isDestroyed(): boolean
  readonly mainFrame: FrameLike
}

export interface ContractIpcComponents {
  ipcMain: IpcMainLike
  handlers: ApiHandlers
  events: AnyEventSource
  logger: Logger
}

export interface ContractIpcInit {
  /** The app's own origin, e.g. `app://bundle`. */
  origin: string
  /** The one window allowed to call; null while there is none. */
  webContents: () => WebContentsLike | null
}

/** Scheme and host of a URL; Node says 'null' for the origin of non-special schemes like app://. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return null
  }
}

/** Only our window's main frame, showing our own origin, may call (no iframes, no navigated-away pages). */
export function isTrustedSender(event: InvokeEventLike, webContents: WebContentsLike | null, origin: string): boolean {
  const frame = event.senderFrame
  if (!frame || !webContents || webContents.isDestroyed()) return false
  if (frame !== webContents.mainFrame || frame.parent !== null) return false
  return originOf(frame.url) === origin
}

const FORBIDDEN: Envelope<never> = { ok: false, error: { code: 'forbidden', message: 'caller not allowed' } }

/**
 * Binds the contract to Electron IPC: ONE invoke channel for every method (the contract's
 * dispatch checks the name and the params' schema) and ONE event channel carrying
 * `{event, payload}`. Returns the unbind.
 */
export function bindContractIpc(components: ContractIpcComponents, init: ContractIpcInit): () => void {
  const { ipcMain, handlers, events, logger } = components
  const dispatchOptions = { onUnexpected: unexpectedErrorReporter(logger, null, 'ipc'), checkResults: contractChecks() }
  ipcMain.handle(IPC_CALL_CHANNEL, async (event, method, params) => {
    if (!isTrustedSender(event, init.webContents(), init.origin)) {
      logger.warn('ipc call refused: untrusted sender', { url: event.senderFrame?.url.slice(0, 200) })
      return FORBIDDEN
    }
    if (typeof method !== 'string') return { ok: false, error: { code: 'unknown_method', message: 'method must be a string' } } satisfies Envelope<never>
    return dispatch(handlers, method, params, dispatchOptions)
  })
  // `message` events leave as `messages` batches (at most one per 100 ms), as over the WebSocket.
  const offEvents = new MessageEventCoalescer(events).onAny((event, payload) => {
    const wc = init.webContents()
    if (!wc || wc.isDestroyed()) return
    try {
      wc.send(IPC_EVENT_CHANNEL, { event, payload })
    } catch (err) {
      logger.warn('ipc event not sent', { event, err })
    }
  })
  return () => {
    offEvents()
    ipcMain.removeHandler(IPC_CALL_CHANNEL)
  }
}
