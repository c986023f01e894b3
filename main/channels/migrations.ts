import type { Migration } from '../store/index.js'

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
]
