import type { ApiClient, EventName, EventPayload } from '../../../shared/contract/index.js'

/**
 * One domain of the UI state (health, peers, messages, ...: the list is DOMAINS in
 * app-store.ts): its initial state, how to load its snapshot, and how each of its events
 * changes it. A new domain is a new file exporting one of these plus one entry in DOMAINS.
 */
export interface Domain<S extends object> {
  name: string
  initial: S
  load: (api: ApiClient) => Promise<Partial<S>>
  /** Each event's change; `state` is the current one, for domains that upsert. */
  events: { [E in EventName]?: (payload: EventPayload<E>, state: S) => Partial<S> }
  /**
   * Applies a snapshot that events overtook while it loaded. Without it such a snapshot is
   * dropped (right for domains whose events carry the whole state, wrong for upserts).
   */
  merge?: (snapshot: Partial<S>, state: S) => Partial<S>
}

/** Keeps the exact type of a domain's state while checking it is a Domain. */
export const defineDomain = <S extends object>(domain: Domain<S>): Domain<S> => domain
