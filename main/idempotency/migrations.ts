import type { Migration } from '../store/index.js'

/**
 * One row per idempotency key. `effect` is written in the same transaction as what the
 * first call did (a signed payment, a reserved send, a proposed channel, a queued
 * message), so a crash can never leave an effect without its key or a key pointing at
 * nothing; `result` is the first call's answer, once it finished.
 */
export const idempotencyMigrations: readonly Migration[] = [
  {
    id: 'idempotency-001',
    up: `
      CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        method TEXT NOT NULL,
        params_hash TEXT NOT NULL,
        effect TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
]
