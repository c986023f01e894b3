import { createContext, useContext } from 'react'
import { useStore } from 'zustand'
import type { Connection } from '../client/index.js'
import type { AppState, AppStore } from '../store/index.js'

export interface AppContextValue {
  store: AppStore
  connection: Connection
  /** Present in the web UI only: forget the token and return to the login page. */
  signOut?: () => void
}

export const AppContext = createContext<AppContextValue | null>(null)

export function useApp(): AppContextValue {
  const value = useContext(AppContext)
  if (!value) throw new Error('useApp outside AppContext')
  return value
}

export function useAppState<T>(selector: (state: AppState) => T): T {
  return useStore(useApp().store, selector)
}
