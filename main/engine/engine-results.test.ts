import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatch } from '../../shared/contract/dispatch.js'
import { METHOD_NAMES, methods } from '../../shared/contract/index.js'
import { hostedEngine } from '../../test/helpers/engine-host.js'
import { tempDir } from '../../test/helpers/processes.js'
import { DevnetServer } from '../chain/devnet/devnet-server.js'
import { validateConfig } from '../config/index.js'
import { silentLogger } from '../telemetry/index.js'
import type { EngineHost } from './engine-host.js'

let host: EngineHost
let devnet: DevnetServer
let dir: { path: string; remove: () => void }

beforeAll(async () => {
  dir = tempDir()
  devnet = new DevnetServer({ port: 0 })
  await devnet.start()
  host = hostedEngine({ config: validateConfig({ dataDir: dir.path, network: 'devnet', chainUrl: devnet.url, logLevel: 'warn', p2p: { host: '127.0.0.1', port: 0, mdns: false } }), logger: silentLogger })
  await host.start()
})

afterAll(async () => {
  await host.stop()
  await devnet.stop()
  dir.remove()
})

/** Methods that read (no params needed, nothing changed): every one is called below. */
const READS = METHOD_NAMES.filter((name) => /^(get|list)/.test(name) && methods[name].params.safeParse({}).success)

describe('what the engine answers keeps its contract', () => {
  it('every read without params answers what its result schema accepts', async () => {
    expect(READS.length).toBeGreaterThan(5)
    const broken: { method: string; err: string }[] = []
    const answered: string[] = []
    for (const name of READS) {
      const envelope = await dispatch(host.handlers, name, {}, { checkResults: true, onUnexpected: (method, err) => broken.push({ method, err: String(err) }) })
      if (envelope.ok) answered.push(name)
    }
    expect(broken).toEqual([])
    // A method refused for a typed reason (no wallet yet, say) checks nothing: most must answer.
    expect(answered.length).toBeGreaterThan(READS.length / 2)
  })
})
