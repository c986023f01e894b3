import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { EventBus } from '../kit/index.js'
import { silentLogger } from '../telemetry/index.js'
import { ConfigError, SettingsEditor, configFromEnv, configFromFlags, loadConfig, mergeLayers, readConfigFile, validateConfig } from './index.js'

describe('config layers', () => {
  it('takes chain service keys from the environment or the file, and never shows them in the settings', () => {
    const env = configFromEnv({ BSV_P2P_ARC_API_KEY: 'arc-secret', BSV_P2P_WOC_API_KEY: 'woc-secret', BSV_P2P_NETWORK: 'testnet' })
    const config = validateConfig(mergeLayers({ chain: { retries: 1 } }, env))
    expect(config.chain).toMatchObject({ arcApiKey: 'arc-secret', wocApiKey: 'woc-secret', retries: 1 })
    const settings = new SettingsEditor({ logger: silentLogger, events: new EventBus() }, config, { file: '/nonexistent/config.json', overrides: {} }).get()
    expect(JSON.stringify(settings)).not.toMatch(/secret/)
  })

  it('lets flags beat the environment, which beats the file', () => {
    const relay = '/ip4/1.2.3.4/tcp/1/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
    const file = { network: 'testnet', p2p: { port: 1111, relays: [relay] } }
    const env = configFromEnv({ BSV_P2P_P2P_PORT: '2222' })
    const cli = configFromFlags({ 'p2p-port': '3333' })
    const config = validateConfig(mergeLayers(file, env, cli.layer))
    expect(config.p2p.port).toBe(3333)
    expect(config.network).toBe('testnet')
    expect(config.p2p.relays).toEqual([relay])
  })

  it('refuses a bad value with an error that names the key', () => {
    const refused = (input: unknown): ConfigError => {
      try {
        validateConfig(input, 'config.json')
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return err as ConfigError
      }
      throw new Error('accepted')
    }
    expect(refused({ chain: { arcApiKey: '' } }).key).toBe('chain.arcApiKey')
    expect(refused({ p2p: { port: 70_000 } }).key).toBe('p2p.port')
    expect(refused({ limits: { maxConections: 5 } }).key).toBe('limits.maxConections')
    // Values a shape cannot judge: every relay must parse as one, named by its index.
    const relay = refused({ p2p: { relays: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ', '/ip4/127.0.0.1/tcp/notaport'] } })
    expect(relay.key).toBe('p2p.relays[1]')
    expect(relay.message).toMatch(/config\.json: invalid p2p\.relays\[1\]: "\/ip4\/127\.0\.0\.1\/tcp\/notaport" is not a relay address/)
    expect(refused({ p2p: { relays: ['/ip4/127.0.0.1/tcp/4001'] } }).message).toMatch(/must end with \/p2p\/<relay peer id>/)
    expect(refused({ p2p: { announce: ['not a multiaddr'] } }).key).toBe('p2p.announce[0]')
    expect(refused({ p2p: { host: 'example.com' } }).key).toBe('p2p.host')
    expect(refused({ p2p: { relays: Array.from({ length: 17 }, () => 'x') } }).key).toBe('p2p.relays')
    expect(() => configFromEnv({ BSV_P2P_API_PORT: 'eighty' })).toThrow(/BSV_P2P_API_PORT/)
    expect(() => readConfigFile('/nonexistent/config.json')).toThrow(ConfigError)
  })

  it('refuses ports that clash on the final config, naming both options; 0 never clashes', () => {
    const final = (input: unknown): string => {
      try {
        validateConfig(input, 'config', { final: true })
        return 'accepted'
      } catch (err) {
        return (err as Error).message
      }
    }
    expect(final({ p2p: { port: 4101, wsPort: 4102 }, api: { port: 4102 } })).toBe('config: invalid api.port: --api-port 4102 is also --ws-port (api.port and p2p.wsPort must differ)')
    expect(final({ p2p: { port: 4102 }, api: { port: 4102 } })).toBe('config: invalid api.port: --api-port 4102 is also --p2p-port (api.port and p2p.port must differ)')
    expect(final({ p2p: { port: 4101, wsPort: 4101 } })).toBe('config: invalid p2p.wsPort: --ws-port 4101 is also --p2p-port (p2p.wsPort and p2p.port must differ)')
    expect(final({ p2p: { port: 0, wsPort: 0 }, api: { port: 0 } })).toBe('accepted')
    // The defaults never clash: no WebSocket listener unless asked, P2P 4001, API 4002.
    expect(final({})).toBe('accepted')
    // A single layer may leave a clashing key to another: only the merged config is judged.
    expect(validateConfig({ api: { port: 4001 } }).api.port).toBe(4001)
  })

  it('says where saved settings go and what the environment and flags set above the file', () => {
    const dir = tempDir('bsv-p2p-config-')
    try {
      const relay = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWSUNJbVkQeVs9QSqcywa1KhpaPDQV3pFPQ2YiSGP2WskZ'
      const flags = { 'data-dir': dir.path, relay: [relay] }
      const fresh = loadConfig(flags, { BSV_P2P_LOG_LEVEL: 'warn' })
      expect(fresh.source.file).toBe(join(dir.path, 'config.json'))
      expect(fresh.source.overrides).toMatchObject({ logLevel: 'warn', dataDir: dir.path, p2p: { relays: [relay] } })
      // A --config that does not exist is an error, not an empty layer.
      expect(() => loadConfig({ ...flags, config: join(dir.path, 'missing.json') }, {})).toThrow(/missing\.json: cannot read/)
      writeFileSync(join(dir.path, 'config.json'), JSON.stringify({ logLevel: 'debug', limits: { maxConnections: 9 } }))
      const saved = loadConfig({ 'data-dir': dir.path }, {})
      expect(saved.config).toMatchObject({ logLevel: 'debug', limits: { maxConnections: 9 } })
      expect(saved.source.overrides).toEqual({ dataDir: dir.path })
    } finally {
      dir.remove()
    }
  })
})
