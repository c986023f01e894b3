// better-sqlite3's `nativeBinding` through the store: a named build is the one loaded (Node
// caches a loaded addon by its path, so the cache shows which file was), a missing or
// foreign file is a typed error that names it, and without one the package's own build
// serves, as it does for the daemon and the tests.
import { copyFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { BackupKeeper, verifyBackup } from './backups.js'
import { NativeModuleError, openSqlite } from './sqlite.js'
import { Store } from './store.js'

const require = createRequire(import.meta.url)
const NODE_BUILD = join(require.resolve('better-sqlite3/package.json'), '..', 'build', 'Release', 'better_sqlite3.node')
const loaded = (file: string): boolean => file in require.cache

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function dir(): string {
  const d = tempDir('bsv-p2p-binding-')
  cleanups.push(() => d.remove())
  return d.path
}

/** Node's own build under another name: loading it proves the named path was used. */
function copyOfNodeBuild(): string {
  const file = join(dir(), 'better_sqlite3.node')
  copyFileSync(NODE_BUILD, file)
  return file
}

async function startedStore(init: { dataDir: string; nativeBinding?: string }): Promise<Store> {
  const store = new Store({ ...init, migrations: [{ id: 't', up: 'CREATE TABLE t (v TEXT NOT NULL) STRICT' }] })
  await store.start()
  cleanups.push(() => store.stop())
  return store
}

describe('the SQLite native module named by nativeBinding', () => {
  it('is the one a store opens with, for its checks, its connection and its backups', async () => {
    const binding = copyOfNodeBuild()
    expect(loaded(binding)).toBe(false)
    const dataDir = dir()
    // Twice: the second start runs the integrity check of an existing file first.
    const first = await startedStore({ dataDir, nativeBinding: binding })
    first.db.prepare('INSERT INTO t (v) VALUES (?)').run('kept')
    await first.stop()
    const store = await startedStore({ dataDir, nativeBinding: binding })
    expect(loaded(binding)).toBe(true)
    expect(store.binding).toEqual({ nativeBinding: binding })
    expect(store.db.prepare('SELECT v FROM t').get()).toEqual({ v: 'kept' })

    const keeper = new BackupKeeper({ store, logger: silentLogger, metrics: new Metrics() }, { dir: join(dataDir, 'backups'), identify: (db) => (db.prepare('SELECT v FROM t').get() as { v: string }).v })
    const info = await keeper.backupNow('request')
    expect(info.wallet).toBe('kept')

    // The keeper's own connections follow the store's binding: one that cannot load fails them.
    const missing = join(dir(), 'gone.node')
    const elsewhere = { get db() { return store.db }, isOpen: true, binding: { nativeBinding: missing } } as unknown as Store
    const refused = new BackupKeeper({ store: elsewhere, logger: silentLogger, metrics: new Metrics() }, { dir: join(dataDir, 'backups-2') })
    await expect(refused.backupNow('request')).rejects.toThrow(NativeModuleError)
  })

  it('missing: the store does not start, and the typed error names the file', async () => {
    const missing = join(dir(), 'electron-linux-x64', 'better_sqlite3.node')
    const store = new Store({ dataDir: dir(), migrations: [], nativeBinding: missing })
    const err = await store.start().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(NativeModuleError)
    expect((err as NativeModuleError).file).toBe(missing)
    expect((err as Error).message).toContain(missing)
    expect(store.isOpen).toBe(false)
  })

  it('not an addon for this runtime: refused with the loader’s reason, also for a backup check', () => {
    const foreign = join(dir(), 'better_sqlite3.node')
    writeFileSync(foreign, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60), Buffer.from('node_register_module_v150\0')]))
    expect(() => openSqlite(':memory:', { nativeBinding: foreign })).toThrow(NativeModuleError)
    expect(() => openSqlite(':memory:', { nativeBinding: foreign })).toThrow(/cannot load the SQLite native module .*better_sqlite3\.node \(.+\)/)
    expect(() => verifyBackup(join(dir(), 'any.sqlite'), undefined, { nativeBinding: foreign })).toThrow(NativeModuleError)
  })

  it('absent: the package’s own build (Node’s), as the daemon and the tests use', async () => {
    const store = await startedStore({ dataDir: dir() })
    expect(store.binding).toEqual({ nativeBinding: undefined })
    expect(loaded(NODE_BUILD)).toBe(true)
    expect(store.db.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 })
  })
})
