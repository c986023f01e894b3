import { join } from 'node:path'

/** The file name better-sqlite3 builds, kept by `scripts/electron-native.mjs` under `native/`. */
const NATIVE_SQLITE_FILE = 'better_sqlite3.node'

export interface NativeBindingPlace {
  /** `app.isPackaged`. */
  packaged: boolean
  /** `process.resourcesPath`: electron-builder puts extra resources there. */
  resourcesPath: string
  /** `app.getAppPath()`: the project folder when run with `electron .`. */
  appPath: string
  platform: NodeJS.Platform
  arch: string
}

/**
 * Where the Electron app's better-sqlite3 build is: node_modules holds Node's (115 for
 * Node 20), and Electron cannot load it, so the app opens SQLite through this one, built
 * for Electron's ABI. Packaged, electron-builder copies it to `<resources>/native/`
 * (electron-builder.yml, extraResources); from the project, `npm start` prepares it in
 * `native/electron-<platform>-<arch>/` (the path `scripts/electron-native.mjs` writes).
 */
export function electronNativeBinding(place: NativeBindingPlace): string {
  return place.packaged ? join(place.resourcesPath, 'native', NATIVE_SQLITE_FILE) : join(place.appPath, 'native', `electron-${place.platform}-${place.arch}`, NATIVE_SQLITE_FILE)
}
