export { IdempotencyLedger, type Effect, type IdempotencyScope } from './ledger.js'
export { keyedHandlers, type EngineHandlers } from './keyed-handlers.js'
export { idempotencyMigrations } from './migrations.js'
