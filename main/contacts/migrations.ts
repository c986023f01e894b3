import type { Migration } from '../store/index.js'

/**
 * One row per named peer. The name is the user's own, never sent: it lives with their
 * data (and its backups), not in config.
 */
export const contactMigrations: readonly Migration[] = [
  {
    id: 'contacts-001',
    up: `
      CREATE TABLE contacts (
        peer_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
]
