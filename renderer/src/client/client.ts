import {
  type ApiClient,
  ContractError,
  type EventName,
  type EventPayload,
  METHOD_NAMES,
  type MethodName,
  events as eventSchemas,
  methods,
} from '../../../shared/contract/index.js'
import type { ConnectionState, Transport } from './transport.js'

/**
 * The typed contract over any transport, built from the contract's own method list: a
 * new method in shared/contract appears here with no edit. Failures are thrown as
 * ContractError (code + message); results are checked against the method's schema, so a
 * mismatched daemon shows up as a clear error, not as undefined fields in a view.
 */
function createClient(transport: Transport): ApiClient {
  const client = {} as Record<MethodName, (params?: unknown) => Promise<unknown>>
  for (const name of METHOD_NAMES) {
    client[name] = async (params?: unknown) => {
      const envelope = await transport.call(name, params ?? {})
      if (!envelope.ok) throw ContractError.fromPayload(envelope.error)
      const parsed = methods[name].result.safeParse(envelope.result)
      if (!parsed.success) {
        // Seen by whoever opens the developer tools; the person gets the plain message below.
        console.warn(`contract: the result of ${name} breaks its schema`, parsed.error.issues.slice(0, 5))
        throw new ContractError('internal', `The wallet service answered ${name} in an unexpected form.`)
      }
      return parsed.data
    }
  }
  return Object.freeze(client) as ApiClient
}

/**
 * Typed, schema-checked events. A payload that fails its schema never reaches a view (it
 * could only show wrong figures) but is not lost silently either: it is said in the console,
 * with the bad fields, and counted in `rejected`, which the developer tools and tests read.
 */
export interface ContractEvents {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
  onState(listener: (state: ConnectionState) => void): () => void
  /** Events refused by their schema since this connection was made, by event name. */
  readonly rejected: Readonly<Partial<Record<EventName, number>>>
}

export function createEvents(transport: Transport): ContractEvents {
  const rejected: Partial<Record<EventName, number>> = {}
  // Every subscriber of an event parses the same payload: one bad payload is one rejection.
  const seen = new WeakSet<object>()
  return {
    on(event, listener) {
      const schema = eventSchemas[event]
      return transport.on(event, (raw) => {
        const parsed = schema.safeParse(raw)
        if (parsed.success) {
          listener(parsed.data as never)
          return
        }
        if (typeof raw === 'object' && raw !== null) {
          if (seen.has(raw)) return
          seen.add(raw)
        }
        const count = (rejected[event] ?? 0) + 1
        rejected[event] = count
        console.warn(`contract: a ${event} event breaks its schema and was not shown (${count} so far)`, parsed.error.issues.slice(0, 5))
      })
    },
    onState: (listener) => transport.onState(listener),
    rejected,
  }
}

/** What the renderer holds: calls, events, and the transport to close on sign-out. */
export interface Connection {
  api: ApiClient
  events: ContractEvents
  transport: Transport
}

export function connect(transport: Transport): Connection {
  return { api: createClient(transport), events: createEvents(transport), transport }
}
