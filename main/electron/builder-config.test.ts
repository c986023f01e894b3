import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../test/helpers/processes.js'

// electron-builder's own loader and validator (the ones `electron-builder` runs), so the
// check is its schema and its rules, not a copy of them.
type Config = Record<string, any>
const { getConfig, validateConfiguration } = (await import('app-builder-lib/out/util/config/config.js')) as unknown as {
  getConfig: (projectDir: string, configPath: string | null, fromOptions: Config | null) => Promise<Config>
  validateConfiguration: (config: Config, logger: unknown) => Promise<void>
}
const { DebugLogger } = (await import('builder-util')) as unknown as { DebugLogger: new (enabled: boolean) => unknown }

async function load(): Promise<Config> {
  return getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null)
}

describe('electron-builder.yml', () => {
  it('passes electron-builder’s own schema', async () => {
    const config = await load()
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined()
  })

  it('packs what the app needs, its own Electron build of the native module, never rebuilds node_modules, and targets every platform', async () => {
    const config = await load()
    const files = (config.files as (string | { filter: string[] })[]).flatMap((f) => (typeof f === 'string' ? [f] : f.filter))
    expect(files).toEqual(expect.arrayContaining(['dist/**', 'assets/**', 'package.json', '!**/node_modules/better-sqlite3/{build,deps,src}/**']))
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['**/*.node']))
    // A rebuild in place would leave node_modules built for Electron: `npm test` and the daemon would break.
    expect(config.npmRebuild).toBe(false)
    for (const [key, platform] of [
      ['linux', 'linux'],
      ['mac', 'darwin'],
      ['win', 'win32'],
    ] as const) {
      expect(config[key].extraResources).toEqual([{ from: `native/electron-${platform}-\${arch}/better_sqlite3.node`, to: 'native/better_sqlite3.node' }])
    }
    expect(config.linux.target).toEqual(['AppImage', 'deb'])
    expect(config.mac.target).toBe('dmg')
    expect(config.win.target).toBe('nsis')
    for (const platform of ['linux', 'mac', 'win']) expect(config[platform].icon).toBe('assets/icon.png')
  })

  it('is a real check: a misspelt option fails it', async () => {
    const config = { ...(await load()), asarUnpak: ['x'] }
    await expect(validateConfiguration(config, new DebugLogger(false))).rejects.toThrow(/asarUnpak/)
  })
})
