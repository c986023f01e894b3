import type { Migration } from '../../store/index.js'

/**
 * Messages and their full-text index. One row per (peer, direction, id): a retried or
 * replayed message is stored once. `seq` is the local arrival order (the list cursor).
 * The FTS5 table is external-content over `messages` (the text is stored once). New rows
 * are indexed in batches behind the hot path (MessageRepository.indexPending), up to
 * `messages_fts_progress.indexed_seq`, and every search first catches the index up, so a
 * search always sees every stored message while a message's commit never pays for
 * tokenising. Deletes and text edits of indexed rows are mirrored by triggers.
 */
export const messagingMigrations: readonly Migration[] = [
  {
    id: 'messaging-001',
    up: `
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id TEXT NOT NULL,
        peer_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        received_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('received', 'pending', 'delivered', 'failed')),
        UNIQUE (peer_id, direction, msg_id)
      ) STRICT;
      CREATE INDEX messages_peer_seq ON messages (peer_id, seq);
      CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2');
      CREATE TABLE messages_fts_progress (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        indexed_seq INTEGER NOT NULL
      ) STRICT;
      INSERT INTO messages_fts_progress (id, indexed_seq) VALUES (1, 0);
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
      WHEN old.seq <= (SELECT indexed_seq FROM messages_fts_progress WHERE id = 1) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
      WHEN old.seq <= (SELECT indexed_seq FROM messages_fts_progress WHERE id = 1) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
      END;
    `,
  },
  {
    // Store-and-forward: an outbound message waits (pending) until its peer can be reached,
    // up to its expiry. The partial index keeps the pending queue cheap to read in order
    // and to sweep, however many delivered messages sit beside it.
    id: 'messaging-002',
    up: `
      ALTER TABLE messages ADD COLUMN expires_at INTEGER;
      UPDATE messages SET expires_at = sent_at + 604800000 WHERE direction = 'out' AND status = 'pending';
      CREATE INDEX messages_out_pending ON messages (seq) WHERE direction = 'out' AND status = 'pending';
    `,
  },
  {
    // Conversations: one row per peer, kept by triggers (one small upsert per stored
    // message), so the conversation list and the unread counts never scan the messages,
    // however many there are. `read_seq` is the read marker (markConversationRead); what
    // was stored before this migration counts as read.
    id: 'messaging-003',
    up: `
      CREATE TABLE message_conversations (
        peer_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        total INTEGER NOT NULL,
        unread INTEGER NOT NULL,
        read_seq INTEGER NOT NULL
      ) STRICT;
      INSERT INTO message_conversations (peer_id, last_seq, total, unread, read_seq)
        SELECT peer_id, MAX(seq), COUNT(*), 0, MAX(seq) FROM messages GROUP BY peer_id;
      CREATE INDEX message_conversations_recent ON message_conversations (last_seq);
      CREATE INDEX messages_in_peer_seq ON messages (peer_id, seq) WHERE direction = 'in';
      CREATE TRIGGER message_conversations_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_conversations (peer_id, last_seq, total, unread, read_seq)
          VALUES (new.peer_id, new.seq, 1, new.direction = 'in', 0)
        ON CONFLICT (peer_id) DO UPDATE SET
          last_seq = MAX(last_seq, new.seq),
          total = total + 1,
          unread = unread + (new.direction = 'in' AND new.seq > read_seq);
      END;
      CREATE TRIGGER message_conversations_delete AFTER DELETE ON messages BEGIN
        UPDATE message_conversations SET
          total = total - 1,
          unread = unread - (old.direction = 'in' AND old.seq > read_seq),
          last_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE peer_id = old.peer_id), 0)
        WHERE peer_id = old.peer_id;
      END;
    `,
  },
]
