import { type ReactElement, useEffect, useState } from 'react'
import type { ThemeChoice } from '../theme.js'
import { clockTime } from '../human.js'
import { liveness } from '../store/app-store.js'
import { useAppState } from './app-context.js'
import { Channels } from './Channels.js'
import { HealthBadge } from './HealthBadge.js'
import { IconChannels, IconLogo, IconMessages, IconMoon, IconOverview, IconPeers, IconSettings, IconSun, IconWallet } from './icons.js'
import { Messages, UnreadBadge } from './messages/Messages.js'
import { Overview } from './Overview.js'
import { Peers } from './Peers.js'
import { Settings } from './Settings.js'
import { Wallet } from './Wallet.js'

/** The views, in menu order. A new domain's view is one entry here. */
const ROUTES = [
  { id: 'overview', label: 'Overview', icon: IconOverview },
  { id: 'peers', label: 'Peers', icon: IconPeers },
  { id: 'messages', label: 'Messages', icon: IconMessages },
  { id: 'wallet', label: 'Wallet', icon: IconWallet },
  { id: 'channels', label: 'Channels', icon: IconChannels },
  { id: 'settings', label: 'Settings', icon: IconSettings },
] as const
type RouteId = (typeof ROUTES)[number]['id']

function routeFromHash(): RouteId {
  // `#/messages/<peerId>`: the route is the first segment, the rest is the view's own.
  const id = window.location.hash.replace(/^#\/?/, '').split('/')[0]
  return ROUTES.find((r) => r.id === id)?.id ?? 'overview'
}

function useRoute(): RouteId {
  const [route, setRoute] = useState<RouteId>(routeFromHash)
  useEffect(() => {
    const update = (): void => setRoute(routeFromHash())
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return route
}

/** Says when the screens show last-known data, since when, and that actions wait. */
function ConnectionBanner(): ReactElement | null {
  const live = useAppState(liveness)
  const lastSyncedAt = useAppState((s) => s.lastSyncedAt)
  if (live === 'live' || live === 'connecting') return null
  const since = lastSyncedAt === null ? '' : ` Showing what was known at ${clockTime(lastSyncedAt)}; it may be out of date.`
  const what =
    live === 'down' ? 'The node is not running.' : live === 'reconnecting' ? 'Lost the connection to the wallet service. Reconnecting…' : 'Not connected to the wallet service.'
  return (
    <div className="banner banner-stale" role="status" data-testid="connection-banner" data-live={live}>
      {what}
      {since} Actions wait until it is back.
    </div>
  )
}

export function App({ theme, dark, onTheme }: { theme: ThemeChoice; dark: boolean; onTheme: (choice: ThemeChoice) => void }): ReactElement {
  const route = useRoute()
  const ready = useAppState((s) => s.ready)
  const live = useAppState(liveness)
  const unread = useAppState((s) => s.unread.total)
  const current = ROUTES.find((r) => r.id === route)!
  useEffect(() => {
    document.title = `${current.label} · BSV P2P Wallet`
  }, [current])
  return (
    <div className="shell" data-testid="app" data-ready={ready ? 'true' : 'false'}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <IconLogo />
          <span>BSV P2P Wallet</span>
        </div>
        <ul>
          {ROUTES.map((r) => (
            <li key={r.id}>
              <a href={`#/${r.id}`} aria-current={r.id === route ? 'page' : undefined} data-testid={`nav-${r.id}`}>
                <r.icon />
                <span className="nav-label">{r.label}</span>
                {r.id === 'messages' && <UnreadBadge total={unread} />}
              </a>
            </li>
          ))}
        </ul>
        <button type="button" className="theme-toggle" onClick={() => onTheme(dark ? 'light' : 'dark')} aria-label={dark ? 'Use light theme' : 'Use dark theme'} title={dark ? 'Use light theme' : 'Use dark theme'}>
          {dark ? <IconSun /> : <IconMoon />}
          <span>{dark ? 'Light theme' : 'Dark theme'}</span>
        </button>
      </nav>
      <div className="content">
        <header className="topbar">
          <h1>{current.label}</h1>
          <HealthBadge />
        </header>
        <ConnectionBanner />
        <main id="main" tabIndex={-1} data-testid={`view-${route}`} data-live={live}>
          {/* One gate for every control: nothing is sent while the screens show stale data. */}
          <fieldset className="live-gate" disabled={live !== 'live'}>
            {route === 'overview' && <Overview />}
            {route === 'peers' && <Peers />}
            {route === 'messages' && <Messages />}
            {route === 'wallet' && <Wallet />}
            {route === 'channels' && <Channels />}
            {route === 'settings' && <Settings theme={theme} onTheme={onTheme} />}
          </fieldset>
        </main>
      </div>
    </div>
  )
}
