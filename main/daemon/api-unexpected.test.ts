import { afterEach, describe, expect, it } from 'vitest'
import type { ApiHandlers, Health } from '../../shared/contract/index.js'
import { EventBus } from '../kit/index.js'
import { Metrics, createLogger } from '../telemetry/index.js'
import { ApiServer } from './api-server.js'

const TOKEN = 't'.repeat(43)
const servers: ApiServer[] = []

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop()
})

/** An API in front of the given handlers, whose log lines the test reads back. */
async function apiWith(handlers: Partial<ApiHandlers>): Promise<{ api: ApiServer; lines: Record<string, any>[] }> {
  const lines: Record<string, any>[] = []
  const logger = createLogger({ level: 'info', sink: (line) => lines.push(JSON.parse(line) as Record<string, any>) })
  const api = new ApiServer(
    { handlers: handlers as ApiHandlers, events: new EventBus(), health: () => ({ status: 'ok' }) as Health, ready: () => true, metrics: new Metrics(), logger },
    { host: '127.0.0.1', port: 0, token: TOKEN, maxBodyBytes: 4096 },
  )
  await api.start()
  servers.push(api)
  // Only what the requests below log.
  lines.length = 0
  return { api, lines }
}

const call = async (api: ApiServer, method: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${api.url}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: '{}' })
  return { status: res.status, body: await res.json() }
}

const unexpectedCount = async (api: ApiServer): Promise<number> => {
  const text = await (await fetch(`${api.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('bsv_p2p_api_unexpected_errors_total '))
  return line ? Number(line.split(' ').pop()) : Number.NaN
}

describe('an unexpected error behind the HTTP API', () => {
  it('is answered 500 internal with no detail, logged exactly once with its stack and cause, and counted at /metrics', async () => {
    const { api, lines } = await apiWith({
      getHealth: async () => {
        throw new TypeError('cannot read peerId of undefined', { cause: new Error('the node was stopped') })
      },
    })
    expect(await unexpectedCount(api)).toBe(0)
    const res = await call(api, 'getHealth')
    expect(res).toEqual({ status: 500, body: { ok: false, error: { code: 'internal', message: 'internal error' } } })
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ msg: 'unexpected error', where: 'api', what: 'getHealth', err: { name: 'TypeError', message: 'cannot read peerId of undefined', cause: { message: 'the node was stopped' } } })
    expect(errors[0]!.err.stack).toContain('api-unexpected.test.ts')
    expect(errors[0]!.err.cause.stack).toContain('api-unexpected.test.ts')
    expect(await unexpectedCount(api)).toBe(1)
  })

  it('a typed refusal is the caller\'s business: answered, neither logged as an error nor counted', async () => {
    const { ContractError } = await import('../../shared/contract/index.js')
    const { api, lines } = await apiWith({
      listPeers: async () => {
        throw new ContractError('unavailable', 'the p2p node is not running')
      },
    })
    expect((await call(api, 'listPeers')).status).toBe(503)
    expect(lines.filter((l) => l.level === 'error')).toEqual([])
    expect(await unexpectedCount(api)).toBe(0)
  })

  it('a thrown string still leaves a stack: where the boundary caught it', async () => {
    const { api, lines } = await apiWith({
      getHealth: async () => {
        throw 'not an Error' as unknown as Error
      },
    })
    expect((await call(api, 'getHealth')).status).toBe(500)
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ err: 'not an Error', where: 'api' })
    expect(errors[0]!.caughtAt).toContain('unexpected.ts')
    expect(await unexpectedCount(api)).toBe(1)
  })
})
