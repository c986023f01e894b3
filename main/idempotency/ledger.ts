import { createHash } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import type { Counter, Gauge } from 'prom-client'
import { z } from 'zod'
import { ContractError, IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_MAX_KEYS } from '../../shared/contract/index.js'
import { Disposables, type Startable } from '../kit/index.js'
import { GroupCommit, type Store } from '../store/index.js'
import type { Logger, Metrics } from '../telemetry/index.js'

/**
 * What a keyed call did, recorded in the same transaction as the doing: a retry finds it
 * there and follows that effect instead of making another.
 */
export const EffectSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('payment'), channelId: z.string(), seq: z.number().int().positive() }).strict(),
  z.object({ kind: z.literal('send'), sendId: z.string(), txid: z.string().nullable() }).strict(),
  z.object({ kind: z.literal('channel'), channelId: z.string() }).strict(),
  z.object({ kind: z.literal('message'), peerId: z.string(), id: z.string() }).strict(),
])
export type Effect = z.infer<typeof EffectSchema>

/**
 * Effects whose record alone gives the call's answer (a payment's state, a send's
 * transaction, a message's id): their answer is not written again when the call ends, so
 * a keyed payment costs no commit more than an unkeyed one. A channel changes after it
 * opens, so the answer of openChannel is kept as it was given.
 */
const SELF_ANSWERING: ReadonlySet<Effect['kind']> = new Set(['payment', 'send', 'message'])

/** What a keyed call's implementation is given. */
export interface IdempotencyScope {
  readonly key: string
  /** What an earlier attempt with this key did (recorded with its effect), or null. */
  readonly prior: Effect | null
  /** Record this call's effect. Synchronous: call it inside the transaction that makes the effect. */
  bind(effect: Effect): void
}

export interface IdempotencyLedgerComponents {
  store: Store
  logger: Logger
  metrics: Metrics
}

export interface IdempotencyLedgerInit {
  /** How long a key is kept after its first use. */
  ttlMs?: number
  /** At most this many keys; above it the oldest go first. */
  maxKeys?: number
  /** How often expired keys are removed. */
  pruneEveryMs?: number
}

const PRUNE_BATCH = 50_000
/** A wall clock that moved this far against the monotonic one is not trusted to expire keys. */
const CLOCK_DRIFT_MAX_MS = 10 * 60 * 1000

interface Row {
  method: string
  hash: string
  effect: string | null
  result: string | null
}

interface Statements {
  get: Statement
  bind: Statement
  answer: Statement
}

interface Flight {
  method: string
  hash: string
  promise: Promise<unknown>
}

/**
 * Idempotency keys: the first call with a key does the work, a retry with the same key
 * and params gets the first call's answer (or joins it while it runs) and moves nothing,
 * and the same key with other params is refused. Durable across restarts: the key is
 * written with the call's effect (see IdempotencyScope.bind) and its answer once given.
 * A retry after an answer was lost finds either the stored answer or the effect, which
 * the method follows to its end (a payment waits for its acknowledgement, a send for the
 * chain); a call that failed before any effect leaves no row, so its retry runs anew.
 */
export class IdempotencyLedger implements Startable {
  private readonly inflight = new Map<string, Flight>()
  private readonly commit: GroupCommit
  private readonly ttlMs: number
  private readonly maxKeys: number
  private readonly pruneEveryMs: number
  private readonly calls: Counter<'method'>
  private readonly replays: Counter<'method' | 'how'>
  private readonly conflicts: Counter<'method'>
  private readonly keys: Gauge
  private disposables = new Disposables()
  private statements: { db: unknown; s: Statements } | null = null
  /** Wall minus monotonic time when started: its drift shows a clock that jumped. */
  private clockBase = 0
  private clockWarned = false

  constructor(
    private readonly components: IdempotencyLedgerComponents,
    init: IdempotencyLedgerInit = {},
  ) {
    this.commit = new GroupCommit(components.store, { onCallbackError: (err) => components.logger.error('an idempotency write\'s callback failed', { err }) })
    this.ttlMs = init.ttlMs ?? IDEMPOTENCY_KEY_TTL_MS
    this.maxKeys = init.maxKeys ?? IDEMPOTENCY_MAX_KEYS
    this.pruneEveryMs = init.pruneEveryMs ?? 60_000
    const m = components.metrics
    this.calls = m.counter({ name: 'idempotent_calls_total', help: 'Calls made with an idempotency key', labelNames: ['method'] })
    this.replays = m.counter({ name: 'idempotent_replays_total', help: 'Keyed calls that did not run again: answered from the stored answer (stored), by joining the call still running (joined), or by following the effect an earlier attempt recorded (followed)', labelNames: ['method', 'how'] })
    this.conflicts = m.counter({ name: 'idempotency_conflicts_total', help: 'Calls refused because their idempotency key was used with other params', labelNames: ['method'] })
    this.keys = m.gauge({ name: 'idempotency_keys', help: 'Idempotency keys kept (as of the last prune)' })
  }

  async start(): Promise<void> {
    this.disposables = new Disposables()
    this.clockBase = Date.now() - performance.now()
    this.clockWarned = false
    this.prune()
    this.disposables.interval(() => this.prune(), this.pruneEveryMs)
  }

  async stop(): Promise<void> {
    await this.disposables.dispose()
    this.commit.flush()
  }

  /**
   * Run `exec` once per key. `fingerprint` is what makes two calls "the same": the params
   * as parsed, or something derived from them where they hold secrets.
   */
  async run<T>(method: string, key: string, fingerprint: unknown, exec: (scope: IdempotencyScope) => Promise<T>): Promise<T> {
    this.calls.inc({ method })
    const hash = fingerprintHash(method, fingerprint)
    const flying = this.inflight.get(key)
    if (flying) {
      this.check(key, flying, method, hash)
      this.replays.inc({ method, how: 'joined' })
      return flying.promise as Promise<T>
    }
    const row = this.row(key)
    if (row) {
      this.check(key, row, method, hash)
      if (row.result !== null) {
        this.replays.inc({ method, how: 'stored' })
        return JSON.parse(row.result) as T
      }
    }
    const prior = this.priorOf(key, row)
    if (prior) this.replays.inc({ method, how: 'followed' })
    const scope = new Scope(key, method, hash, prior, (effect) => this.bindRow(key, method, hash, effect))
    const promise = this.execute(scope, exec)
    const flight: Flight = { method, hash, promise }
    this.inflight.set(key, flight)
    const clear = (): void => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key)
    }
    promise.then(clear, clear)
    return promise
  }

  /** How many keyed calls are running now. */
  get running(): number {
    return this.inflight.size
  }

  /** Prepared once per database connection (a restarted store is a new connection). */
  private get s(): Statements {
    const db = this.components.store.db
    if (this.statements?.db !== db) {
      this.statements = {
        db,
        s: {
          get: db.prepare('SELECT method, params_hash AS hash, effect, result FROM idempotency_keys WHERE key = ?'),
          bind: db.prepare(
            `INSERT INTO idempotency_keys (key, method, params_hash, effect, result, created_at, expires_at) VALUES (?, ?, ?, ?, NULL, ?, ?)
             ON CONFLICT (key) DO UPDATE SET effect = excluded.effect`,
          ),
          answer: db.prepare(
            `INSERT INTO idempotency_keys (key, method, params_hash, effect, result, created_at, expires_at) VALUES (?, ?, ?, NULL, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET result = excluded.result`,
          ),
        },
      }
    }
    return this.statements.s
  }

  private async execute<T>(scope: Scope, exec: (scope: IdempotencyScope) => Promise<T>): Promise<T> {
    const result = await exec(scope)
    if (scope.bound && SELF_ANSWERING.has(scope.bound)) return result
    const now = Date.now()
    const write = this.commit.run(() => this.s.answer.run(scope.key, scope.method, scope.hash, JSON.stringify(result ?? null), now, now + this.ttlMs))
    const failed = (err: unknown): void => this.components.logger.error('could not record the answer of a keyed call; a retry will run it again', { err, method: scope.method })
    // With an effect recorded, a retry can follow it: the answer need not wait for this write.
    // Without one, the stored answer is all a retry has, so it is on disk before it is given.
    if (scope.bound) write.catch(failed)
    else await write.catch(failed)
    return result
  }

  private check(key: string, seen: { method: string; hash: string }, method: string, hash: string): void {
    if (seen.method === method && seen.hash === hash) return
    this.conflicts.inc({ method })
    throw new ContractError('conflict', seen.method === method ? `idempotency key ${key} was used for ${method} with other params` : `idempotency key ${key} was used for ${seen.method}`, {
      field: 'idempotencyKey',
      reason: 'idempotency-key-reused',
    })
  }

  private row(key: string): Row | null {
    return (this.s.get.get(key) as Row | undefined) ?? null
  }

  private priorOf(key: string, row: Row | null): Effect | null {
    if (!row?.effect) return null
    let json: unknown = null
    try {
      json = JSON.parse(row.effect)
    } catch {
      // Falls through to the refusal below.
    }
    const parsed = EffectSchema.safeParse(json)
    if (parsed.success) return parsed.data
    // Running again could pay twice; refusing is the only safe answer.
    this.components.logger.error('an idempotency key records an effect that does not parse', { key, effect: row.effect.slice(0, 200), err: parsed.error })
    throw new ContractError('internal', 'the record of this idempotency key is damaged; the call was not run again')
  }

  private bindRow(key: string, method: string, hash: string, effect: Effect): void {
    const now = Date.now()
    this.s.bind.run(key, method, hash, JSON.stringify(effect), now, now + this.ttlMs)
  }

  /** Expired keys go, then the oldest above the cap; a bounded batch per prune. */
  prune(): void {
    const db = this.components.store.db
    const drift = Date.now() - performance.now() - this.clockBase
    if (Math.abs(drift) > CLOCK_DRIFT_MAX_MS) {
      // A clock set forward would expire keys a retry still needs: keep them until it settles.
      if (!this.clockWarned) this.components.logger.warn('the wall clock jumped; idempotency keys are not expired until a restart', { driftMs: Math.round(drift) })
      this.clockWarned = true
    } else {
      db.prepare('DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)').run(Date.now(), PRUNE_BATCH)
    }
    const count = (db.prepare('SELECT count(*) AS n FROM idempotency_keys').get() as { n: number }).n
    const over = Math.min(count - this.maxKeys, PRUNE_BATCH)
    if (over > 0) db.prepare('DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys ORDER BY created_at LIMIT ?)').run(over)
    this.keys.set(Math.max(0, count - Math.max(0, over)))
  }
}

class Scope implements IdempotencyScope {
  /** The kind of effect recorded, once one is. */
  bound: Effect['kind'] | null = null

  constructor(
    readonly key: string,
    readonly method: string,
    readonly hash: string,
    readonly prior: Effect | null,
    private readonly write: (effect: Effect) => void,
  ) {}

  bind(effect: Effect): void {
    this.write(effect)
    this.bound = effect.kind
  }
}

/** A digest of (method, fingerprint) that does not depend on key order. */
export function fingerprintHash(method: string, fingerprint: unknown): string {
  return createHash('sha256').update(method).update('\0').update(stableJson(fingerprint)).digest('hex')
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}
