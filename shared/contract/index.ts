import type { z } from 'zod'
import type { MethodSpec } from './define.js'
import { channelEvents, channelMethods } from './channels.js'
import { contactEvents, contactMethods } from './contacts.js'
import { healthEvents, healthMethods } from './health.js'
import { messageEvents, messageMethods } from './messages.js'
import { peerEvents, peerMethods } from './peers.js'
import { settingsEvents, settingsMethods } from './settings.js'
import { walletEvents, walletMethods } from './wallet.js'

export * from './errors.js'
export * from './define.js'
export * from './idempotency.js'
export * from './health.js'
export * from './peers.js'
export * from './messages.js'
export * from './settings.js'
export * from './wallet.js'
export * from './channels.js'
export * from './contacts.js'

/**
 * The one list of methods. Every transport (Electron IPC, the daemon's HTTP and
 * WebSocket) and the renderer's client derive from it; adding a method is one entry in a
 * domain file here and one handler in the engine.
 */
export const methods = {
  ...healthMethods,
  ...peerMethods,
  ...messageMethods,
  ...settingsMethods,
  ...walletMethods,
  ...channelMethods,
  ...contactMethods,
} satisfies Record<string, MethodSpec>

export const events = {
  ...healthEvents,
  ...peerEvents,
  ...messageEvents,
  ...settingsEvents,
  ...walletEvents,
  ...channelEvents,
  ...contactEvents,
} satisfies Record<string, z.ZodType>

type Methods = typeof methods
export type MethodName = keyof Methods
type Params<M extends MethodName> = z.input<Methods[M]['params']>
export type ParsedParams<M extends MethodName> = z.output<Methods[M]['params']>
export type Result<M extends MethodName> = z.output<Methods[M]['result']>

type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.output<Events[E]>

/** What the engine implements: one async function per method, taking parsed params. */
export type ApiHandlers = { [M in MethodName]: (params: ParsedParams<M>) => Promise<Result<M>> }

/** What a client sees: the same methods, taking raw params. */
export type ApiClient = { [M in MethodName]: (params?: Params<M>) => Promise<Result<M>> }

export const METHOD_NAMES = Object.keys(methods) as MethodName[]

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, name)
}
