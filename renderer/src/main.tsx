import { type ReactElement, StrictMode, useCallback, useEffect, useMemo, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { z } from 'zod'
import type { Bridge } from '../../shared/bridge.js'
import { type Connection, connect, ipcTransport, webTransport } from './client/index.js'
import { humanError } from './human.js'
import { type AppStore, createAppStore, startSync } from './store/index.js'
import { type ThemeChoice, applyTheme, loadThemeChoice, saveThemeChoice } from './theme.js'
import { App } from './views/App.js'
import { AppContext } from './views/app-context.js'
import { Login } from './views/Login.js'
import './styles.css'

// The CSP forbids eval; zod must not even try its compiled fast path.
z.config({ jitless: true })

const TOKEN_KEY = 'bsv-p2p.api-token'

interface Session {
  connection: Connection
  store: AppStore
}

function openSession(connection: Connection): Session {
  return { connection, store: createAppStore() }
}

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function writeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // without storage the token lasts until the page reloads
  }
}

/** Opens a web connection and proves the token with one call; returns the session or why not. */
async function signIn(token: string): Promise<Session | string> {
  const connection = connect(webTransport({ baseUrl: window.location.origin, token }))
  try {
    await connection.api.getHealth()
    return openSession(connection)
  } catch (err) {
    connection.transport.close()
    return humanError(err)
  }
}

function Root({ bridge }: { bridge: Bridge | undefined }): ReactElement {
  const [theme, setTheme] = useState<ThemeChoice>(loadThemeChoice)
  const [dark, setDark] = useState(false)
  const [session, setSession] = useState<Session | null>(() => (bridge ? openSession(connect(ipcTransport(bridge))) : null))
  const [checkingSaved, setCheckingSaved] = useState(() => !bridge && readToken() !== null)
  const [loginError, setLoginError] = useState<string | null>(null)

  useEffect(() => applyTheme(theme, setDark), [theme])
  const chooseTheme = useCallback((choice: ThemeChoice) => {
    saveThemeChoice(choice)
    setTheme(choice)
  }, [])

  // A token kept from earlier in this tab is tried once before the login page shows.
  useEffect(() => {
    const saved = bridge ? null : readToken()
    if (!saved) return
    let cancelled = false
    void signIn(saved).then((result) => {
      if (cancelled) {
        if (typeof result !== 'string') result.connection.transport.close()
        return
      }
      if (typeof result === 'string') writeToken(null)
      else setSession(result)
      setCheckingSaved(false)
    })
    return () => {
      cancelled = true
    }
  }, [bridge])

  useEffect(() => {
    if (!session) return
    const stopSync = startSync(session.store, session.connection)
    // A token revoked while signed in sends the web UI back to the login page.
    const stopWatch = session.store.subscribe((s) => {
      if (s.unauthorized && !bridge) {
        writeToken(null)
        setLoginError('Your session ended: the token is no longer accepted.')
        session.connection.transport.close()
        setSession(null)
      }
    })
    return () => {
      stopWatch()
      stopSync()
    }
  }, [session, bridge])

  const signOut = useCallback(() => {
    writeToken(null)
    setLoginError(null)
    setSession((current) => {
      current?.connection.transport.close()
      return null
    })
  }, [])

  const context = useMemo(() => (session ? { ...session, signOut: bridge ? undefined : signOut } : null), [session, bridge, signOut])

  if (!context) {
    if (checkingSaved) return <div className="login" aria-busy="true" />
    return (
      <Login
        initialError={loginError}
        onSubmit={async (token) => {
          const result = await signIn(token)
          if (typeof result === 'string') return result
          writeToken(token)
          setSession(result)
          return null
        }}
      />
    )
  }
  return (
    <AppContext.Provider value={context}>
      <App theme={theme} dark={dark} onTheme={chooseTheme} />
    </AppContext.Provider>
  )
}

const bridge = (window as unknown as { bridge?: Bridge }).bridge
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root bridge={bridge} />
  </StrictMode>,
)
