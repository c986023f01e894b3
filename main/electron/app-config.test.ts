import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { loadAppConfig } from './app-config.js'

const dirs: { remove: () => void }[] = []
afterEach(() => dirs.splice(0).forEach((d) => d.remove()))

function dir(): string {
  const d = tempDir('bsv-p2p-app-config-')
  dirs.push(d)
  return d.path
}

describe('the app loads its config as the daemon does', () => {
  it('reads <data dir>/config.json under the environment, its data dir above both', () => {
    const userData = dir()
    writeFileSync(join(userData, 'config.json'), JSON.stringify({ dataDir: '/elsewhere', logLevel: 'debug', p2p: { port: 4101 } }))
    const loaded = loadAppConfig({ BSV_P2P_P2P_PORT: '4102' }, userData)
    expect(loaded.config).toMatchObject({ dataDir: userData, logLevel: 'debug', p2p: { port: 4102 } })
    expect(loaded.source).toEqual({ file: join(userData, 'config.json'), overrides: { dataDir: userData, p2p: { port: 4102 } } })
  })

  it('takes BSV_P2P_DATA_DIR over the userData folder, and BSV_P2P_CONFIG over its config.json', () => {
    const data = dir()
    const other = join(dir(), 'other.json')
    writeFileSync(join(data, 'config.json'), JSON.stringify({ logLevel: 'debug' }))
    writeFileSync(other, JSON.stringify({ logLevel: 'error' }))
    const loaded = loadAppConfig({ BSV_P2P_DATA_DIR: data, BSV_P2P_CONFIG: other }, dir())
    expect(loaded.dataDir).toBe(data)
    expect(loaded.config.logLevel).toBe('error')
    // Saved settings go to the file that was read.
    expect(loaded.source.file).toBe(other)
  })

  it('validates each layer alone, so an error names the layer and the key', () => {
    const userData = dir()
    writeFileSync(join(userData, 'config.json'), JSON.stringify({ p2p: { prot: 4001 } }))
    expect(() => loadAppConfig({}, userData)).toThrow(`config file ${join(userData, 'config.json')}: invalid p2p.prot: unknown key`)
    expect(() => loadAppConfig({ BSV_P2P_LOG_LEVEL: 'loud' }, dir())).toThrow(/^environment: invalid logLevel/)
    expect(() => loadAppConfig({ BSV_P2P_CONFIG: join(userData, 'missing.json') }, userData)).toThrow(/missing\.json: cannot read/)
  })

  it('reads the file again for a restart, so settings saved since apply', () => {
    const userData = dir()
    const loaded = loadAppConfig({}, userData)
    expect(loaded.config.logLevel).toBe('info')
    writeFileSync(join(userData, 'config.json'), JSON.stringify({ logLevel: 'warn' }))
    expect(loaded.reload().logLevel).toBe('warn')
  })
})
