// The idempotency ledger on a real SQLite file. The property: any interleaving of calls
// with a few keys (concurrent, failing before or after their effect, restarts of the
// process in between) makes at most one effect per key, and every answer a key gets names
// that one effect. IDEMPOTENCY_MODEL_RUNS=<n> runs more; IDEMPOTENCY_MODEL_SEED replays.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ContractError } from '../../shared/contract/index.js'
import { GroupCommit, Store } from '../store/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { IdempotencyLedger, type IdempotencyScope } from './ledger.js'
import { idempotencyMigrations } from './migrations.js'

const RUNS = Number(process.env.IDEMPOTENCY_MODEL_RUNS ?? 60)
const SEED = process.env.IDEMPOTENCY_MODEL_SEED === undefined ? undefined : Number(process.env.IDEMPOTENCY_MODEL_SEED)

const migrations = [...idempotencyMigrations, { id: 'things-001', up: 'CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, params TEXT NOT NULL) STRICT;' }]

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function openStore(dir?: string): Promise<{ store: Store; dir: string }> {
  const path = dir ?? mkdtempSync(join(tmpdir(), 'bsv-idem-'))
  if (!dir) dirs.push(path)
  const store = new Store({ dataDir: path, migrations })
  await store.start()
  return { store, dir: path }
}

type Mode = 'ok' | 'fail-before' | 'fail-after'

/**
 * A service with one effect per call (a row in `things`), recorded with its key in the
 * same transaction, as pay/send/openChannel do; a retry with a recorded effect follows it.
 */
function service(store: Store) {
  const commit = new GroupCommit(store, {
    onCallbackError: (err) => {
      throw err
    },
  })
  return async (params: string, mode: Mode, scope: IdempotencyScope): Promise<{ id: number }> => {
    if (scope.prior?.kind === 'channel') return { id: Number(scope.prior.channelId) }
    await new Promise((r) => setImmediate(r))
    if (mode === 'fail-before') throw new ContractError('unavailable', 'nothing happened')
    const id = await commit.run(() => {
      const row = store.db.prepare('INSERT INTO things (params) VALUES (?)').run(params)
      scope.bind({ kind: 'channel', channelId: String(row.lastInsertRowid) })
      return Number(row.lastInsertRowid)
    })
    await new Promise((r) => setImmediate(r))
    if (mode === 'fail-after') throw new ContractError('timeout', 'the answer was lost')
    return { id }
  }
}

type Step =
  | { k: 'call'; key: number; params: number; mode: Mode; copies: number }
  | { k: 'restart' }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('call' as const), key: fc.nat(2), params: fc.nat(1), mode: fc.constantFrom<Mode>('ok', 'fail-before', 'fail-after'), copies: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'restart' as const }) },
)

describe('IdempotencyLedger', () => {
  it('any interleaving of retries, failures and restarts makes one effect per key, and every answer names it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), async (rounds) => {
        const { store, dir } = await openStore()
        let current = store
        let ledger = new IdempotencyLedger({ store: current, logger: silentLogger, metrics: new Metrics() })
        await ledger.start()
        let run = service(current)
        /** The params a key was first recorded with (once it has a row). */
        const claimed = new Map<number, number>()
        const answers = new Map<number, Set<number>>()
        try {
          for (const round of rounds) {
            // The steps of a round run at once: concurrent callers, some with the same key.
            const calls: Promise<void>[] = []
            const claimedBefore = new Map(claimed)
            for (const s of round) {
              if (s.k === 'restart') continue
              for (let c = 0; c < s.copies; c++) {
                const key = `key-${s.key}-xxxxxxxx`
                const params = `p${s.params}`
                calls.push(
                  ledger.run('pay', key, { params }, (scope) => run(params, c === 0 ? s.mode : 'ok', scope)).then(
                    ({ id }) => {
                      // A key recorded with other params never runs, nor answers, this call.
                      expect(claimedBefore.get(s.key) ?? s.params).toBe(s.params)
                      answers.set(s.key, (answers.get(s.key) ?? new Set()).add(id))
                    },
                    (err: unknown) => {
                      if (!(err instanceof ContractError)) throw err
                      if (err.code === 'conflict') {
                        // Refused only for a key in use (or recorded) with the other params.
                        expect(err.details?.reason).toBe('idempotency-key-reused')
                      } else expect(['unavailable', 'timeout']).toContain(err.code)
                    },
                  ),
                )
              }
            }
            await Promise.all(calls)
            // What the disk says each key is claimed by.
            for (const row of current.db.prepare('SELECT key, effect FROM idempotency_keys').all() as { key: string; effect: string | null }[]) {
              const k = Number(row.key.split('-')[1])
              const thing = row.effect ? (current.db.prepare('SELECT params FROM things WHERE id = ?').get(Number(JSON.parse(row.effect).channelId)) as { params: string }) : null
              if (thing) {
                const p = Number(thing.params.slice(1))
                expect(claimed.get(k) ?? p).toBe(p)
                claimed.set(k, p)
              }
            }
            if (round.some((s) => s.k === 'restart')) {
              // A process restart: what was in memory is gone, the file stays.
              await ledger.stop()
              await current.stop()
              current = (await openStore(dir)).store
              ledger = new IdempotencyLedger({ store: current, logger: silentLogger, metrics: new Metrics() })
              await ledger.start()
              run = service(current)
            }
          }
          // One effect per key at most, and every answer for a key names the effect it made.
          const effects = current.db.prepare('SELECT count(*) AS n FROM things').get() as { n: number }
          const bound = current.db.prepare('SELECT count(*) AS n FROM idempotency_keys WHERE effect IS NOT NULL').get() as { n: number }
          expect(effects.n).toBe(bound.n)
          expect(effects.n).toBeLessThanOrEqual(3)
          for (const [k, ids] of answers) {
            expect(ids.size).toBe(1)
            const row = current.db.prepare('SELECT effect FROM idempotency_keys WHERE key = ?').get(`key-${k}-xxxxxxxx`) as { effect: string }
            expect(Number(JSON.parse(row.effect).channelId)).toBe([...ids][0])
          }
        } finally {
          await ledger.stop()
          await current.stop()
        }
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    )
  }, 300_000)

  it('refuses a key used with other params or for another method, whether running or done', async () => {
    const { store } = await openStore()
    const ledger = new IdempotencyLedger({ store, logger: silentLogger, metrics: new Metrics() })
    await ledger.start()
    let release = (): void => {}
    const running = ledger.run('pay', 'key-running', { sats: 1 }, () => new Promise<{ n: number }>((r) => (release = () => r({ n: 1 }))))
    await expect(ledger.run('pay', 'key-running', { sats: 2 }, async () => ({ n: 2 }))).rejects.toMatchObject({ code: 'conflict', details: { field: 'idempotencyKey', reason: 'idempotency-key-reused' } })
    await expect(ledger.run('send', 'key-running', { sats: 1 }, async () => ({ n: 3 }))).rejects.toMatchObject({ code: 'conflict' })
    // The same call joins the running one.
    const joined = ledger.run('pay', 'key-running', { sats: 1 }, async () => ({ n: 4 }))
    release()
    expect(await running).toEqual({ n: 1 })
    expect(await joined).toEqual({ n: 1 })
    // Done: the stored answer, and still refused with other params (key order does not matter).
    expect(await ledger.run('pay', 'key-running', { sats: 1 }, async () => ({ n: 5 }))).toEqual({ n: 1 })
    await expect(ledger.run('pay', 'key-running', { sats: 9 }, async () => ({ n: 6 }))).rejects.toMatchObject({ code: 'conflict' })
    expect(await ledger.run('x', 'key-order1', { a: 1, b: 2 }, async () => ({ n: 7 }))).toEqual({ n: 7 })
    expect(await ledger.run('x', 'key-order1', { b: 2, a: 1 }, async () => ({ n: 8 }))).toEqual({ n: 7 })
    await ledger.stop()
    await store.stop()
  })

  it('keeps the answer of a call without an effect on disk before giving it, across a restart', async () => {
    const { store, dir } = await openStore()
    let ledger = new IdempotencyLedger({ store, logger: silentLogger, metrics: new Metrics() })
    await ledger.start()
    let runs = 0
    const newAddress = async (): Promise<{ address: string }> => ({ address: `addr-${++runs}` })
    expect(await ledger.run('newAddress', 'key-address', {}, newAddress)).toEqual({ address: 'addr-1' })
    await ledger.stop()
    await store.stop()
    const again = (await openStore(dir)).store
    ledger = new IdempotencyLedger({ store: again, logger: silentLogger, metrics: new Metrics() })
    await ledger.start()
    expect(await ledger.run('newAddress', 'key-address', {}, newAddress)).toEqual({ address: 'addr-1' })
    expect(runs).toBe(1)
    await ledger.stop()
    await again.stop()
  })

  it('refuses to run a call again when its recorded effect is damaged', async () => {
    const { store } = await openStore()
    const ledger = new IdempotencyLedger({ store, logger: silentLogger, metrics: new Metrics() })
    await ledger.start()
    store.db.prepare("INSERT INTO idempotency_keys (key, method, params_hash, effect, result, created_at, expires_at) VALUES ('key-damaged', 'pay', ?, '{\"kind\":\"payment\"', NULL, 0, 9e15)").run(
      (await import('./ledger.js')).fingerprintHash('pay', { sats: 1 }),
    )
    let ran = false
    await expect(
      ledger.run('pay', 'key-damaged', { sats: 1 }, async () => {
        ran = true
        return {}
      }),
    ).rejects.toMatchObject({ code: 'internal' })
    expect(ran).toBe(false)
    await ledger.stop()
    await store.stop()
  })

  it('forgets keys after their time and the oldest above the cap, but not while the clock has jumped', async () => {
    const { store } = await openStore()
    const ledger = new IdempotencyLedger({ store, logger: silentLogger, metrics: new Metrics() }, { ttlMs: 60_000, maxKeys: 5 })
    await ledger.start()
    for (let i = 0; i < 8; i++) await ledger.run('newAddress', `key-cap-${i}-xxxx`, {}, async () => ({ i }))
    const keys = (): string[] => (store.db.prepare('SELECT key FROM idempotency_keys ORDER BY created_at, key').all() as { key: string }[]).map((r) => r.key)
    ledger.prune()
    expect(keys()).toHaveLength(5)
    expect(keys()).not.toContain('key-cap-0-xxxx')
    // Expired by the clock: gone at the next prune...
    store.db.prepare('UPDATE idempotency_keys SET expires_at = 0').run()
    const realNow = Date.now
    try {
      // ...unless the wall clock just jumped a day ahead of the monotonic one.
      Date.now = () => realNow() + 86_400_000
      ledger.prune()
      expect(keys()).toHaveLength(5)
    } finally {
      Date.now = realNow
    }
    ledger.prune()
    expect(keys()).toHaveLength(0)
    await ledger.stop()
    await store.stop()
  })
})
