import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ContractError, type ApiHandlers } from '../../shared/contract/index.js'
import { ResultSchemaError, dispatch } from '../../shared/contract/dispatch.js'
import { EventBus, EventSchemaError } from '../kit/index.js'
import { createLogger } from './logger.js'
import { Metrics } from './metrics.js'
import { contractChecks, unexpectedErrorReporter } from './unexpected.js'

/** Handlers for the few methods a test calls; the rest are never reached. */
const handlers = (over: Partial<ApiHandlers>): ApiHandlers => over as ApiHandlers

describe('errors leave a trace', () => {
  it('an untyped throw in a handler is reported once, with its stack and cause, logged and counted; a typed one is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bsv-unexpected-'))
    try {
      const logger = createLogger({ logDir: dir, level: 'info' })
      const metrics = new Metrics()
      const counter = metrics.counter({ name: 'api_unexpected_errors_total', help: 'test' })
      const onUnexpected = unexpectedErrorReporter(logger, counter, 'api')
      const bug = new TypeError('cannot read x of undefined', { cause: new Error('the row was missing') })
      const h = handlers({
        getHealth: async () => {
          throw bug
        },
        listPeers: async () => {
          throw new ContractError('unavailable', 'the p2p node is not running')
        },
      })
      expect(await dispatch(h, 'getHealth', {}, { onUnexpected })).toEqual({ ok: false, error: { code: 'internal', message: 'internal error' } })
      expect(await dispatch(h, 'listPeers', {}, { onUnexpected })).toMatchObject({ ok: false, error: { code: 'unavailable' } })
      const lines = readFileSync(join(dir, 'engine.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ level: 'error', msg: 'unexpected error', where: 'api', what: 'getHealth', err: { name: 'TypeError', message: 'cannot read x of undefined', cause: { message: 'the row was missing' } } })
      expect(lines[0]!.err.stack).toContain('unexpected.test.ts')
      expect(lines[0]!.err.cause.stack).toContain('unexpected.test.ts')
      expect(await metrics.registry.getSingleMetricAsString('bsv_p2p_api_unexpected_errors_total')).toContain('bsv_p2p_api_unexpected_errors_total 1')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a part\'s own `internal` (a damaged record) is reported too: the caller learns nothing from it', async () => {
    const reported: unknown[] = []
    const damaged = new ContractError('internal', 'the record of this idempotency key is damaged')
    const h = handlers({
      getHealth: async () => {
        throw damaged
      },
    })
    expect(await dispatch(h, 'getHealth', {}, { onUnexpected: (_m, err) => reported.push(err) })).toMatchObject({ ok: false, error: { code: 'internal' } })
    expect(reported).toEqual([damaged])
  })

  it('with checks on, a result that breaks its schema is answered internal and reported, never sent', async () => {
    const reported: unknown[] = []
    const h = handlers({ listPeers: async () => [{ peerId: 42 }] as never })
    const envelope = await dispatch(h, 'listPeers', {}, { checkResults: true, onUnexpected: (_m, err) => reported.push(err) })
    expect(envelope).toEqual({ ok: false, error: { code: 'internal', message: 'internal error' } })
    expect(reported).toHaveLength(1)
    expect(reported[0]).toBeInstanceOf(ResultSchemaError)
    // Off (a user's app), the same result goes out as it is.
    expect(await dispatch(h, 'listPeers', {}, { onUnexpected: (_m, err) => reported.push(err) })).toMatchObject({ ok: true })
    expect(reported).toHaveLength(1)
  })

  it('the event bus reports a throwing listener and still tells the others; with checks on, a bad payload throws at the emitter', () => {
    const failures: [string, unknown][] = []
    const bus = new EventBus({ checkPayloads: true, onListenerError: (event, err) => failures.push([event, err]) })
    const heard: string[] = []
    bus.on('messageDeleted', () => {
      throw new Error('a listener bug')
    })
    bus.on('messageDeleted', (d) => heard.push(d.id))
    bus.onAny((event) => heard.push(event))
    bus.emit('messageDeleted', { seq: 1, peerId: 'p', id: 'm1' })
    expect(heard).toEqual(['m1', 'messageDeleted'])
    expect(failures).toHaveLength(1)
    expect(failures[0]![0]).toBe('messageDeleted')
    expect(() => bus.emit('messageDeleted', { seq: -1, peerId: 'p', id: 'm1' })).toThrow(EventSchemaError)
  })

  it('checks are on in tests and development, off in a user\'s app unless asked for', () => {
    expect(contractChecks({ NODE_ENV: 'production' })).toBe(false)
    expect(contractChecks({})).toBe(false)
    expect(contractChecks({ NODE_ENV: 'test' })).toBe(true)
    expect(contractChecks({ NODE_ENV: 'development' })).toBe(true)
    expect(contractChecks({ NODE_ENV: 'production', BSV_P2P_CONTRACT_CHECKS: '0' })).toBe(false)
    expect(contractChecks({ BSV_P2P_CONTRACT_CHECKS: '1' })).toBe(true)
  })
})
