import type { Db, Migration } from '../store/index.js'

/**
 * Channels and their payments. A channel row holds everything needed to rebuild its
 * transactions (keys, addresses, funding outpoint, agreed fees) and the latest settlement
 * both sides hold (`seq`, `paid_sats`, and on the payee side the payer's signature over
 * it). Private keys are never stored: `key_index` derives them from the wallet seed.
 */
export const channelMigrations: readonly Migration[] = [
  {
    id: 'channels-001',
    up: `
      CREATE TABLE channels (
        id TEXT PRIMARY KEY,
        peer_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('payer', 'payee')),
        state TEXT NOT NULL,
        capacity_sats INTEGER NOT NULL,
        paid_sats INTEGER NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL DEFAULT 0,
        last_sig TEXT,
        expiry INTEGER NOT NULL,
        fee_rate INTEGER NOT NULL,
        settlement_fee_sats INTEGER NOT NULL,
        refund_fee_sats INTEGER NOT NULL,
        key_index INTEGER NOT NULL,
        payer_pub TEXT NOT NULL,
        payee_pub TEXT,
        payer_address TEXT NOT NULL,
        payee_address TEXT,
        funding_txid TEXT,
        funding_vout INTEGER,
        funding_hex TEXT,
        reservation_id TEXT,
        refund_payee_sig TEXT,
        settlement_txid TEXT,
        refund_txid TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX channels_peer ON channels (peer_id);
      CREATE TABLE channel_payments (
        channel_id TEXT NOT NULL REFERENCES channels (id),
        seq INTEGER NOT NULL,
        sats INTEGER NOT NULL,
        paid_sats INTEGER NOT NULL,
        sig TEXT NOT NULL,
        memo TEXT,
        status TEXT NOT NULL CHECK (status IN ('sent', 'acked')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (channel_id, seq)
      ) STRICT;
    `,
  },
  {
    // Only unacknowledged payments: marking an ack touches the few in flight, not the
    // channel's whole history (a plain (channel_id, seq) range scan grew with every payment).
    id: 'channels-002-unacked-index',
    up: `CREATE INDEX channel_payments_unacked ON channel_payments (channel_id, seq) WHERE status = 'sent';`,
  },
  {
    // Typed states (records.ts): the funding step and the failure are stored; addresses are
    // given only once a channel is funded, so they may be NULL; a key index and a funding
    // outpoint belong to one channel only, ever.
    id: 'channels-003-typed-states',
    rebuildsReferencedTable: true,
    up: (db) => rebuildChannels(db),
  },
  {
    // Key indexes a restored channel backup says were given out (to channels this database
    // never held): a new channel never reuses one.
    id: 'channels-004-key-floor',
    up: `CREATE TABLE channel_key_floor (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL CHECK (next >= 0)) STRICT;`,
  },
  {
    // Archived: hidden by its owner, kept (with its payments, and the wallet's transactions).
    // Outside the record's columns, so saving a record never touches it; only an ended channel
    // may carry it.
    id: 'channels-005-archive',
    up: `ALTER TABLE channels ADD COLUMN archived_at INTEGER CHECK (archived_at IS NULL OR state IN ('closed', 'refunded', 'failed', 'rejected'));`,
  },
  {
    // Coalesced settlements: one signature covers several payments, each still its own row.
    // The signature sits on the last row it covers; the rows before it hold NULL (an amount
    // covered, never signed alone, so never one to settle or to believe from a payee).
    id: 'channels-006-coalesced-payments',
    up: `
      CREATE TABLE channel_payments_v6 (
        channel_id TEXT NOT NULL REFERENCES channels (id),
        seq INTEGER NOT NULL,
        sats INTEGER NOT NULL,
        paid_sats INTEGER NOT NULL,
        sig TEXT CHECK (sig IS NULL OR length(sig) > 0),
        memo TEXT,
        status TEXT NOT NULL CHECK (status IN ('sent', 'acked')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (channel_id, seq)
      ) STRICT;
      INSERT INTO channel_payments_v6 (channel_id, seq, sats, paid_sats, sig, memo, status, created_at)
        SELECT channel_id, seq, sats, paid_sats, sig, memo, status, created_at FROM channel_payments;
      DROP TABLE channel_payments;
      ALTER TABLE channel_payments_v6 RENAME TO channel_payments;
      CREATE INDEX channel_payments_unacked ON channel_payments (channel_id, seq) WHERE status = 'sent';
    `,
  },
]

function rebuildChannels(db: Db): void {
  const sharedKeys = db.prepare('SELECT key_index AS k, group_concat(id) AS ids FROM channels GROUP BY key_index HAVING COUNT(*) > 1').all() as { k: number; ids: string }[]
  const sharedFunding = db
    .prepare('SELECT funding_txid AS t, funding_vout AS v, group_concat(id) AS ids FROM channels WHERE funding_txid IS NOT NULL GROUP BY funding_txid, funding_vout HAVING COUNT(*) > 1')
    .all() as { t: string; v: number; ids: string }[]
  if (sharedKeys.length > 0 || sharedFunding.length > 0) {
    // An earlier version could give two channels one key or one funding (a race now fixed).
    // Which of them holds the coins is for a person to decide: nothing is changed here.
    const what = [...sharedKeys.map((r) => `key index ${r.k} (channels ${r.ids})`), ...sharedFunding.map((r) => `funding ${r.t}:${r.v} (channels ${r.ids})`)]
    throw new Error(`channels share ${what.join('; ')}: back up engine.sqlite and close or remove the duplicates before upgrading`)
  }
  db.exec(`
    CREATE TABLE channels_v3 (
      id TEXT PRIMARY KEY CHECK (length(id) = 32),
      peer_id TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('payer', 'payee')),
      state TEXT NOT NULL CHECK (state IN ('proposed', 'funding', 'open', 'closing', 'closed', 'refunded', 'failed', 'rejected')),
      step TEXT CHECK (step IN ('awaiting-answer', 'awaiting-accept', 'accepted', 'built', 'refund-signed', 'broadcast')),
      failure TEXT,
      capacity_sats INTEGER NOT NULL CHECK (capacity_sats > 0),
      paid_sats INTEGER NOT NULL DEFAULT 0 CHECK (paid_sats >= 0 AND paid_sats <= capacity_sats),
      seq INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0),
      last_sig TEXT,
      expiry INTEGER NOT NULL CHECK (expiry > 0),
      fee_rate INTEGER NOT NULL CHECK (fee_rate >= 0),
      settlement_fee_sats INTEGER NOT NULL CHECK (settlement_fee_sats >= 0),
      refund_fee_sats INTEGER NOT NULL CHECK (refund_fee_sats >= 0),
      key_index INTEGER NOT NULL UNIQUE CHECK (key_index >= 0),
      payer_pub TEXT NOT NULL,
      payee_pub TEXT,
      payer_address TEXT,
      payee_address TEXT,
      funding_txid TEXT,
      funding_vout INTEGER,
      funding_hex TEXT,
      funding_height INTEGER,
      reservation_id TEXT,
      refund_payee_sig TEXT,
      settlement_txid TEXT,
      refund_txid TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (funding_txid, funding_vout)
    ) STRICT;
    INSERT INTO channels_v3 (id, peer_id, role, state, step, failure, capacity_sats, paid_sats, seq, last_sig, expiry, fee_rate, settlement_fee_sats,
      refund_fee_sats, key_index, payer_pub, payee_pub, payer_address, payee_address, funding_txid, funding_vout, funding_hex, funding_height,
      reservation_id, refund_payee_sig, settlement_txid, refund_txid, created_at, updated_at)
    SELECT id, peer_id, role, state,
      CASE
        WHEN state = 'proposed' AND role = 'payer' THEN 'awaiting-accept'
        WHEN state = 'funding' AND role = 'payer' AND refund_payee_sig IS NOT NULL THEN 'refund-signed'
        WHEN state = 'funding' AND role = 'payer' AND funding_txid IS NOT NULL THEN 'built'
        WHEN state = 'funding' AND role = 'payee' AND funding_txid IS NOT NULL THEN 'refund-signed'
        WHEN state = 'funding' THEN 'accepted'
      END,
      CASE WHEN state = 'failed' THEN 'unrecorded' END,
      capacity_sats, paid_sats, seq, last_sig, expiry, fee_rate, settlement_fee_sats, refund_fee_sats, key_index, payer_pub, payee_pub,
      payer_address, payee_address, funding_txid, funding_vout, funding_hex, NULL, reservation_id, refund_payee_sig, settlement_txid, refund_txid,
      created_at, updated_at
    FROM channels;
    DROP TABLE channels;
    ALTER TABLE channels_v3 RENAME TO channels;
    CREATE INDEX channels_peer ON channels (peer_id);
    CREATE INDEX channels_live ON channels (state) WHERE state NOT IN ('closed', 'refunded', 'failed', 'rejected');
  `)
}
