import type { Migration } from '../store/index.js'

export const walletMigrations: Migration[] = [
  {
    id: 'wallet-001',
    up: `
      -- One wallet per data dir: the sealed mnemonic and what sealed it.
      CREATE TABLE wallet_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        network TEXT NOT NULL,
        sealed BLOB NOT NULL,
        protection TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      -- chain 0 receive, 1 change; issued: handed out (the current receive address is the
      -- highest issued one); rows not issued are the gap-limit look-ahead the sync watches.
      CREATE TABLE wallet_addresses (
        address TEXT PRIMARY KEY,
        chain INTEGER NOT NULL CHECK (chain IN (0, 1)),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        issued INTEGER NOT NULL DEFAULT 0,
        used INTEGER NOT NULL DEFAULT 0,
        UNIQUE (chain, idx)
      ) STRICT;
      -- reserved: picked by a send in flight (reserved_by = the send), never offered twice;
      -- spent: our own broadcast spent it, kept until the chain stops listing it.
      CREATE TABLE wallet_utxos (
        txid TEXT NOT NULL,
        vout INTEGER NOT NULL CHECK (vout >= 0),
        satoshis INTEGER NOT NULL CHECK (satoshis >= 0),
        address TEXT NOT NULL REFERENCES wallet_addresses(address) ON DELETE CASCADE,
        height INTEGER,
        state TEXT NOT NULL CHECK (state IN ('available', 'reserved', 'spent')),
        reserved_by TEXT,
        spent_by TEXT,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (txid, vout)
      ) STRICT;
      CREATE INDEX wallet_utxos_state ON wallet_utxos(state);
      CREATE TABLE wallet_transactions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        txid TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        sats INTEGER NOT NULL CHECK (sats >= 0),
        fee INTEGER NOT NULL CHECK (fee >= 0),
        address TEXT,
        height INTEGER,
        created_at TEXT NOT NULL,
        UNIQUE (txid, direction)
      ) STRICT;
    `,
  },
  {
    // A send from reservation to the chain's answer. raw_hex is NULL until the signed tx
    // exists (a crash before then: nothing left, the coins are released on start); with
    // raw_hex, the tx may be out there, so the coins stay reserved and the same bytes are
    // broadcast again until the chain takes or refuses them.
    id: 'wallet-002-pending-sends',
    up: `
      CREATE TABLE wallet_pending_sends (
        send_id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        sats INTEGER NOT NULL CHECK (sats > 0),
        fee INTEGER NOT NULL CHECK (fee >= 0),
        change_address TEXT,
        change_sats INTEGER NOT NULL CHECK (change_sats >= 0),
        txid TEXT,
        raw_hex TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
]
