import type { ReactElement } from 'react'
import { RELAY_TEXT, limitLabel, limitValue } from '../human.js'
import { LIMIT_NAMES } from '../settings-text.js'
import { THEME_CHOICES, type ThemeChoice } from '../theme.js'
import { useApp, useAppState } from './app-context.js'
import { BackupCard } from './settings/BackupCard.js'
import { NodeSettingsForm } from './settings/NodeSettingsForm.js'
import { ProfileForm } from './settings/ProfileForm.js'
import { RestoreCard } from './settings/RestoreCard.js'

const THEME_LABEL: Record<ThemeChoice, string> = { system: 'Match the system', light: 'Light', dark: 'Dark' }

export function Settings({ theme, onTheme }: { theme: ThemeChoice; onTheme: (choice: ThemeChoice) => void }): ReactElement {
  const { signOut } = useApp()
  const settings = useAppState((s) => s.settings)
  const relays = useAppState((s) => s.health?.relay.relays ?? [])
  const profile = useAppState((s) => s.profile)
  const loadError = useAppState((s) => s.loadErrors.settings)
  const profileError = useAppState((s) => s.loadErrors.profile)
  const walletHasKeys = useAppState((s) => s.wallet?.ready === true)
  return (
    <div className="stack">
      <section className="card" aria-labelledby="appearance-title">
        <h3 id="appearance-title" className="section-title">
          Appearance
        </h3>
        <fieldset className="segmented">
          <legend className="sr-only">Theme</legend>
          {THEME_CHOICES.map((choice) => (
            <label key={choice} className={theme === choice ? 'selected' : undefined}>
              <input type="radio" name="theme" value={choice} checked={theme === choice} onChange={() => onTheme(choice)} />
              {THEME_LABEL[choice]}
            </label>
          ))}
        </fieldset>
      </section>

      {profile ? (
        <ProfileForm saved={profile} />
      ) : (
        <section className="card">
          <p className="empty">{profileError ?? 'Loading…'}</p>
        </section>
      )}

      <section className="card" aria-labelledby="network-title">
        <h3 id="network-title" className="section-title">
          Network
        </h3>
        {!settings ? (
          <p className="empty">{loadError ?? 'Loading…'}</p>
        ) : (
          <dl className="facts">
            <dt>Network</dt>
            <dd className="capitalise">{settings.network}</dd>
            <dt>Listening on</dt>
            <dd className="mono">
              {settings.p2p.host}:{settings.p2p.port === 0 ? 'any free port' : settings.p2p.port}
            </dd>
            <dt>Local discovery</dt>
            <dd>{settings.p2p.mdns ? 'On (finds peers on this network)' : 'Off'}</dd>
            <dt>Relays</dt>
            <dd>
              {settings.p2p.relays.length === 0 ? (
                <span className="muted">None: peers behind NAT cannot reach you.</span>
              ) : (
                <ul className="addresses">
                  {settings.p2p.relays.map((addr) => {
                    const state = relays.find((r) => r.multiaddr === addr)?.state
                    return (
                      <li key={addr}>
                        <span className="mono">{addr}</span>
                        {state && <span className={`pill pill-${state}`}>{state === 'reserved' ? 'Reserved' : RELAY_TEXT[state].label}</span>}
                      </li>
                    )
                  })}
                </ul>
              )}
            </dd>
            <dt>Data folder</dt>
            <dd className="mono">{settings.dataDir}</dd>
          </dl>
        )}
      </section>

      {settings && (
        <section className="card" aria-labelledby="limits-title">
          <h3 id="limits-title" className="section-title">
            Running with
          </h3>
          <dl className="facts">
            <dt>Log level</dt>
            <dd className="capitalise" data-testid="running-log-level">
              {settings.logLevel}
            </dd>
            {LIMIT_NAMES.map((key) => (
              <div key={key} className="fact">
                <dt>{limitLabel(key)}</dt>
                <dd data-testid={`running-limit-${key}`}>{limitValue(key, settings.limits[key])}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}

      {settings && <NodeSettingsForm saved={settings} />}

      {settings && <BackupCard dataDir={settings.dataDir} />}

      <RestoreCard walletHasKeys={walletHasKeys} />

      {signOut && (
        <section className="card" aria-labelledby="session-title">
          <h3 id="session-title" className="section-title">
            Session
          </h3>
          <p className="field-help">Signing out forgets the token in this browser tab.</p>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </section>
      )}
    </div>
  )
}
