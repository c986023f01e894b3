import { type StoreApi, createStore } from 'zustand/vanilla'
import type { EventName } from '../../../shared/contract/index.js'
import type { Connection, ConnectionState } from '../client/index.js'
import { humanError, isUnauthorized } from '../human.js'
import { type ChannelsSlice, channelsDomain } from './channels-slice.js'
import { type ContactsSlice, contactsDomain } from './contacts-slice.js'
import type { Domain } from './domain.js'
import { type HealthSlice, healthDomain } from './health-slice.js'
import { type MessagesSlice, messagesDomain } from './messages-slice.js'
import { type PeersSlice, peersDomain } from './peers-slice.js'
import { type ProfileSlice, profileDomain } from './profile-slice.js'
import { type SettingsSlice, settingsDomain } from './settings-slice.js'
import { type WalletSlice, walletDomain } from './wallet-slice.js'

/** Every domain the UI follows. A new domain: one import, one entry, one `&` below. */
const DOMAINS = [healthDomain, peersDomain, settingsDomain, profileDomain, channelsDomain, walletDomain, messagesDomain, contactsDomain] as unknown as Domain<object>[]
type DomainState = HealthSlice & PeersSlice & SettingsSlice & ProfileSlice & ChannelsSlice & WalletSlice & MessagesSlice & ContactsSlice

interface SyncState {
  connection: ConnectionState
  /** Every snapshot has been tried at least once since the last (re)connect. */
  ready: boolean
  /** The service refused our credentials: the web UI goes back to its login page. */
  unauthorized: boolean
  /**
   * Domain name -> true once a snapshot of it arrived (kept across reconnects: what is shown
   * then is last known, not missing). Before that an empty list means "not loaded yet", not "none".
   */
  loaded: Record<string, true>
  /** Domain name -> a human message for its last failed snapshot load. */
  loadErrors: Record<string, string>
  /** When the shown data was last known to be current (a snapshot load or an event); null before the first. */
  lastSyncedAt: number | null
}

export type AppState = DomainState & SyncState
export type AppStore = StoreApi<AppState>

export function createAppStore(): AppStore {
  const initial = Object.assign({}, ...DOMAINS.map((d) => d.initial)) as DomainState
  return createStore<AppState>()(() => ({ ...initial, connection: 'connecting', ready: false, unauthorized: false, loaded: {}, loadErrors: {}, lastSyncedAt: null }))
}

/**
 * Loads every snapshot each time the transport opens (first connect and every reconnect,
 * so nothing missed while away stays on screen) and after the node restarts in place,
 * then follows the events. A snapshot that
 * arrives after a newer event for its domain is discarded. Returns the one unsubscribe.
 */
export function startSync(store: AppStore, connection: Connection): () => void {
  const versions = new Map<string, number>(DOMAINS.map((d) => [d.name, 0]))
  const offs: (() => void)[] = []
  let stopped = false
  let generation = 0

  for (const domain of DOMAINS) {
    for (const [event, apply] of Object.entries(domain.events)) {
      offs.push(
        connection.events.on(event as EventName, (payload) => {
          versions.set(domain.name, (versions.get(domain.name) ?? 0) + 1)
          store.setState((s) => ({ ...(apply as (p: unknown, s: AppState) => Partial<AppState>)(payload, s), ...synced(s) }))
        }),
      )
    }
  }

  const loadAll = async (): Promise<void> => {
    const mine = ++generation
    store.setState({ ready: false })
    await Promise.all(
      DOMAINS.map(async (domain) => {
        const before = versions.get(domain.name)
        try {
          const partial = await domain.load(connection.api)
          if (stopped || mine !== generation) return
          const overtaken = versions.get(domain.name) !== before
          const loaded = (s: AppState): Partial<AppState> => (s.loaded[domain.name] ? {} : { loaded: { ...s.loaded, [domain.name]: true } })
          // Overtaken by an event: the event's state stands, and the domain counts as loaded.
          if (overtaken && !domain.merge) return store.setState((s) => ({ ...loaded(s), loadErrors: without(s.loadErrors, domain.name) }))
          store.setState((s) => ({ ...((overtaken ? domain.merge!(partial, s) : partial) as Partial<AppState>), ...loaded(s), loadErrors: without(s.loadErrors, domain.name) }))
        } catch (err) {
          if (stopped || mine !== generation) return
          if (isUnauthorized(err)) store.setState({ unauthorized: true })
          store.setState((s) => ({ loadErrors: { ...s.loadErrors, [domain.name]: humanError(err) } }))
        }
      }),
    )
    if (!stopped && mine === generation) store.setState({ ready: true, lastSyncedAt: Date.now() })
  }

  // A node restarted in place (settings applied) keeps this connection, but every snapshot is stale.
  offs.push(connection.events.on('restarted', () => void loadAll()))
  offs.push(
    connection.events.onState((state) => {
      if (stopped) return
      store.setState({ connection: state })
      if (state === 'open') void loadAll()
    }),
  )

  return () => {
    stopped = true
    for (const off of offs.splice(0)) off()
  }
}

/**
 * An event proves the data current; the time moves at most once a second (it is shown to the
 * second), in either direction: a wall clock set back must not freeze it until it catches up.
 */
function synced(s: AppState): Partial<AppState> {
  const now = Date.now()
  return s.connection === 'open' && (s.lastSyncedAt === null || Math.abs(now - s.lastSyncedAt) >= 1000) ? { lastSyncedAt: now } : {}
}

/**
 * Whether what the screens show is live: the link to the wallet service is open and the
 * node runs. When not, values are last known ones and actions wait.
 */
export function liveness(s: Pick<AppState, 'connection' | 'health' | 'ready'>): 'live' | 'connecting' | 'reconnecting' | 'disconnected' | 'down' {
  if (s.connection === 'open') return s.health?.status === 'down' ? 'down' : 'live'
  if (s.connection === 'reconnecting') return 'reconnecting'
  if (s.connection === 'closed') return 'disconnected'
  return 'connecting'
}

function without(record: Record<string, string>, key: string): Record<string, string> {
  if (!(key in record)) return record
  const { [key]: _removed, ...rest } = record
  return rest
}
