// The Electron main process opens SQLite through a better-sqlite3 build made for
// Electron's ABI: the path it computes is the one `npm start` prepares (and electron-builder
// packs), and the engine hands that path to better-sqlite3 rather than loading Node's build.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../../test/helpers/processes.js'
import { validateConfig } from '../config/index.js'
import { Engine } from '../engine/index.js'
import { NativeModuleError } from '../store/index.js'
import { silentLogger } from '../telemetry/index.js'
import { electronNativeBinding } from './native-binding.js'

const require = createRequire(import.meta.url)
const NODE_BUILD = join(require.resolve('better-sqlite3/package.json'), '..', 'build', 'Release', 'better_sqlite3.node')

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function dir(): string {
  const d = tempDir('bsv-p2p-electron-native-')
  cleanups.push(() => d.remove())
  return d.path
}

function engineWith(nativeBinding: string): Engine {
  const config = validateConfig({ dataDir: dir(), network: 'devnet', logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false, relays: [] } })
  const engine = new Engine({ config, logger: silentLogger, nativeBinding })
  cleanups.push(() => engine.stop())
  return engine
}

describe('electronNativeBinding', () => {
  it('packaged: the extra resource electron-builder copies to <resources>/native/', () => {
    const where = { packaged: true, resourcesPath: '/opt/BSV P2P Wallet/resources', appPath: '/opt/BSV P2P Wallet/resources/app.asar', platform: 'linux' as const, arch: 'x64' }
    expect(electronNativeBinding(where)).toBe('/opt/BSV P2P Wallet/resources/native/better_sqlite3.node')
  })

  it('from the project: the file `npm start` prepares, for this platform and CPU', () => {
    for (const [platform, arch] of [
      ['linux', 'x64'],
      ['darwin', 'arm64'],
      ['win32', 'x64'],
    ] as const) {
      const printed = execFileSync(process.execPath, [join(ROOT, 'scripts', 'electron-native.mjs'), '--print-path', '--platform', platform, '--arch', arch], { encoding: 'utf8' }).trim()
      expect(electronNativeBinding({ packaged: false, resourcesPath: '/unused', appPath: ROOT, platform, arch })).toBe(printed)
    }
  })

  it('matches the extraResources electron-builder packs for each platform', async () => {
    const { getConfig } = (await import('app-builder-lib/out/util/config/config.js')) as unknown as { getConfig: (dir: string, file: string, opts: null) => Promise<Record<string, any>> }
    const config = await getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null)
    for (const [key, platform] of [
      ['linux', 'linux'],
      ['mac', 'darwin'],
      ['win', 'win32'],
    ] as const) {
      // The ${arch} macro, expanded as electron-builder does for an x64 build.
      const [resource] = (config[key].extraResources as { from: string; to: string }[]).map((r) => ({ from: r.from.replace('${arch}', 'x64'), to: r.to }))
      expect(join(ROOT, resource!.from)).toBe(electronNativeBinding({ packaged: false, resourcesPath: '', appPath: ROOT, platform, arch: 'x64' }))
      expect(join('/res', resource!.to)).toBe(electronNativeBinding({ packaged: true, resourcesPath: '/res', appPath: '', platform, arch: 'x64' }))
    }
  })
})

describe('the engine with a nativeBinding, as the Electron main process makes it', () => {
  it('does not start without that file, and says which file', async () => {
    const missing = electronNativeBinding({ packaged: false, resourcesPath: '', appPath: dir(), platform: process.platform, arch: process.arch })
    const err = await engineWith(missing)
      .start()
      .then(
        () => null,
        (e: unknown) => e,
      )
    // The store is the first part to start; its failure is the message the app's error box shows.
    expect(err).toMatchObject({ name: 'StartError', part: 'store' })
    expect((err as Error).cause).toBeInstanceOf(NativeModuleError)
    expect((err as Error).message).toContain(missing)
  })

  it('opens its database through that file', async () => {
    // Node's build under the app's name: loadable here, and Node's module cache shows which path was loaded.
    const appPath = dir()
    const binding = electronNativeBinding({ packaged: false, resourcesPath: '', appPath, platform: process.platform, arch: process.arch })
    mkdirSync(join(binding, '..'), { recursive: true })
    copyFileSync(NODE_BUILD, binding)
    expect(binding in require.cache).toBe(false)
    const engine = engineWith(binding)
    await engine.start()
    expect(binding in require.cache).toBe(true)
    expect(engine.store.binding.nativeBinding).toBe(binding)
    expect(engine.store.db.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 })
  })
})
