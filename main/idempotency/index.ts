export { IdempotencyLedger, EffectSchema, fingerprintHash, type Effect, type IdempotencyScope, type IdempotencyLedgerInit } from './ledger.js'
export { keyedHandlers, type EngineHandlers, type Fingerprints } from './keyed-handlers.js'
export { idempotencyMigrations } from './migrations.js'
