import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import Database from 'better-sqlite3'

/**
 * Where better-sqlite3's compiled part comes from. Node (the daemon, the tests) uses the
 * package's own build; the Electron app passes a build made for Electron's ABI
 * (`npm run native:electron`), because one `.node` file serves one ABI only.
 */
export interface SqliteBinding {
  /** Path of a `better_sqlite3.node` built for this process's runtime; default: the package's own build. */
  nativeBinding?: string
}

/** The native module named by `nativeBinding` cannot be loaded: missing, or built for another runtime. */
export class NativeModuleError extends Error {
  override readonly name = 'NativeModuleError'
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot load the SQLite native module ${file} (${firstLine(cause)}); for the desktop app, \`npm run native:electron\` prepares it`, { cause })
  }
}

const requireNative = createRequire(import.meta.url)

/**
 * A better-sqlite3 connection, from the build `nativeBinding` names (or the package's own).
 * The named build is loaded here first, so a missing or wrong-ABI file is a typed error
 * that names it rather than a bare dlopen message; Node caches the loaded module by path,
 * so better-sqlite3's own load of the same path below is the same module.
 */
export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  const { nativeBinding, ...rest } = options
  if (nativeBinding === undefined) {
    const own = packageBuild()
    return new Database(file, own === null ? rest : { ...rest, nativeBinding: own })
  }
  const path = resolve(nativeBinding)
  try {
    requireNative(path)
  } catch (err) {
    throw new NativeModuleError(path, err)
  }
  return new Database(file, { ...rest, nativeBinding: path })
}

/**
 * The package's own build, by path: better-sqlite3's default search (the `bindings`
 * package) stats a dozen candidates and finds none from inside a bundle, which is how the
 * hosts carry better-sqlite3's JavaScript (in their code cache). Null where the build is
 * not at that path; the default search then looks, and fails with its own message.
 */
function packageBuild(): string | null {
  try {
    return requireNative.resolve('better-sqlite3/build/Release/better_sqlite3.node')
  } catch {
    return null
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0]!.slice(0, 300)
}
