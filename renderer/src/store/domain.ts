import type { ApiClient, EventName, EventPayload } from '../../../shared/contract/index.js'

/**
 * One domain of the UI state (health, peers; wallet, channels and messages later): its
 * initial state, how to load its snapshot, and how each of its events changes it. A new
 * domain is a new file exporting one of these plus one entry in DOMAINS.
 */
export interface Domain<S extends object> {
  name: string
  initial: S
  load: (api: ApiClient) => Promise<Partial<S>>
  events: { [E in EventName]?: (payload: EventPayload<E>) => Partial<S> }
}

/** Keeps the exact type of a domain's state while checking it is a Domain. */
export const defineDomain = <S extends object>(domain: Domain<S>): Domain<S> => domain
