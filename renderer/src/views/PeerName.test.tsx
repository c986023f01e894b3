import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import type { Contact, Peer } from '../../../shared/contract/index.js'
import type { Connection } from '../client/index.js'
import { type AppState, createAppStore } from '../store/index.js'
import { createStore } from 'zustand/vanilla'
import { AppContext } from './app-context.js'
import { PeerName } from './PeerName.js'

const B = '12D3KooWJbR3Y7d4GJ5QyW8dLqVvXgX6tMeVg8D1q6pY2CnctpQm'

const peer = (name?: string): Peer => ({ peerId: B, ...(name ? { name } : {}), services: [], multiaddrs: [], connected: true, connection: 'direct', reachability: 'connected', source: 'connection', lastSeen: new Date(0).toISOString() })
const contact = (name: string): Contact => ({ peerId: B, name, updatedAt: new Date(0).toISOString() })

/**
 * <PeerName> rendered against the app's store shape in the given state (no connection is
 * used). Server rendering reads a store's initial state, so the state is made initial.
 */
function render(state: { peers?: Peer[]; contacts?: Contact[] }): string {
  const initial: AppState = { ...createAppStore().getState(), ...state }
  const store = createStore<AppState>()(() => initial)
  return renderToStaticMarkup(
    <AppContext.Provider value={{ store, connection: {} as Connection }}>
      <PeerName peerId={B} />
    </AppContext.Provider>,
  )
}

describe('<PeerName>', () => {
  it('shows the local name over the announced one, the announced over the id, and the short id last', () => {
    expect(render({ peers: [peer('Mallory')], contacts: [contact('Bob')] })).toContain('data-name-source="contact">Bob</span>')
    expect(render({ peers: [peer('Mallory')], contacts: [] })).toContain('data-name-source="announced">Mallory</span>')
    expect(render({ peers: [peer()], contacts: [] })).toContain('data-name-source="id">12D3KooWJb…nctpQm</span>')
    expect(render({ peers: [], contacts: [contact('Bob')] })).toContain('>Bob</span>')
  })

  it('keeps the full peer id in the title', () => {
    expect(render({ contacts: [contact('Bob')] })).toContain(`title="${B}"`)
  })
})
