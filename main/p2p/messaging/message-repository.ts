import type { Statement } from 'better-sqlite3'
import type { Conversation, Message, Unread } from '../../../shared/contract/index.js'
import type { Store } from '../../store/index.js'

interface MessageRow {
  seq: number
  msg_id: string
  peer_id: string
  direction: 'in' | 'out'
  text: string
  sent_at: number
  received_at: number | null
  status: Message['status']
}

function rowToMessage(row: MessageRow): Message {
  return {
    id: row.msg_id,
    seq: row.seq,
    peerId: row.peer_id,
    direction: row.direction,
    text: row.text,
    sentAt: new Date(row.sent_at).toISOString(),
    receivedAt: row.received_at === null ? null : new Date(row.received_at).toISOString(),
    status: row.status,
  }
}

/**
 * A query a person typed, made safe for FTS5 MATCH: every word becomes a quoted string
 * (inner quotes doubled) with a prefix star, so operators, brackets, colons and stray
 * quotes are searched for as text and can never be a syntax error. Null when no word is left.
 */
export function toFtsQuery(query: string): string | null {
  const words = query
    .split(/\s+/u)
    // Control characters are never search text.
    // eslint-disable-next-line no-control-regex
    .map((w) => w.replace(/[\u0000-\u001f]/gu, ''))
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 32)
  if (words.length === 0) return null
  return words.map((w) => `"${w.replace(/"/g, '""')}"*`).join(' ')
}

const COLUMNS = 'seq, msg_id, peer_id, direction, text, sent_at, received_at, status'

/** Messages in SQLite. Writes are plain functions meant to run inside a GroupCommit batch. */
export class MessageRepository {
  private statements: {
    insertIn: Statement
    insertOut: Statement
    upsertOut: Statement
    setStatus: Statement
    byKey: Statement
    bySeq: Statement
    pendingOut: Statement
    expire: Statement
    requeue: Statement
    deleteOut: Statement
    setStatusBySeq: Statement
    progress: Statement
    indexRange: Statement
    setProgress: Statement
    lastSeq: Statement
  } | null = null
  private statementsFor: unknown = null

  constructor(private readonly store: Store) {}

  /** Prepared once per database connection (a restarted store is a new connection). */
  private get s() {
    const db = this.store.db
    if (!this.statements || this.statementsFor !== db) {
      this.statements = {
        insertIn: db.prepare(
          `INSERT OR IGNORE INTO messages (msg_id, peer_id, direction, text, sent_at, received_at, status) VALUES (?, ?, 'in', ?, ?, ?, 'received')`,
        ),
        insertOut: db.prepare(
          `INSERT INTO messages (msg_id, peer_id, direction, text, sent_at, received_at, status, expires_at) VALUES (?, ?, 'out', ?, ?, NULL, 'pending', ?)`,
        ),
        upsertOut: db.prepare(
          `INSERT INTO messages (msg_id, peer_id, direction, text, sent_at, received_at, status, expires_at) VALUES (?, ?, 'out', ?, ?, NULL, 'pending', ?)
           ON CONFLICT (peer_id, direction, msg_id) DO UPDATE SET status = 'pending', expires_at = excluded.expires_at WHERE status != 'delivered' RETURNING seq`,
        ),
        bySeq: db.prepare(`SELECT ${COLUMNS}, expires_at FROM messages WHERE seq = ?`),
        pendingOut: db.prepare(`SELECT ${COLUMNS}, expires_at FROM messages WHERE direction = 'out' AND status = 'pending' ORDER BY seq`),
        expire: db.prepare(
          `UPDATE messages SET status = 'failed' WHERE direction = 'out' AND status = 'pending' AND expires_at <= ? RETURNING ${COLUMNS}`,
        ),
        requeue: db.prepare(`UPDATE messages SET status = 'pending', expires_at = ? WHERE seq = ? AND direction = 'out' AND status = 'failed'`),
        deleteOut: db.prepare(`DELETE FROM messages WHERE seq = ? AND direction = 'out' AND status IN ('pending', 'failed')`),
        setStatus: db.prepare(
          `UPDATE messages SET status = ?, received_at = COALESCE(?, received_at) WHERE peer_id = ? AND direction = 'out' AND msg_id = ? AND status != 'delivered'`,
        ),
        byKey: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE peer_id = ? AND direction = ? AND msg_id = ?`),
        setStatusBySeq: db.prepare(
          `UPDATE messages SET status = ?, received_at = COALESCE(?, received_at) WHERE seq = ? AND direction = 'out' AND status != 'delivered'`,
        ),
        progress: db.prepare('SELECT indexed_seq AS seq FROM messages_fts_progress WHERE id = 1').pluck(),
        indexRange: db.prepare('INSERT INTO messages_fts (rowid, text) SELECT seq, text FROM messages WHERE seq > ? AND seq <= ?'),
        setProgress: db.prepare('UPDATE messages_fts_progress SET indexed_seq = ? WHERE id = 1'),
        lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM messages').pluck(),
      }
      this.statementsFor = db
    }
    return this.statements
  }

  /** Store a received message once; returns its seq, or null when that id was already stored. */
  insertInbound(peerId: string, id: string, text: string, sentAt: number, receivedAt: number): number | null {
    const info = this.s.insertIn.run(id, peerId, text, sentAt, receivedAt)
    return info.changes === 1 ? Number(info.lastInsertRowid) : null
  }

  insertOutbound(peerId: string, id: string, text: string, sentAt: number, expiresAt: number): number {
    return Number(this.s.insertOut.run(id, peerId, text, sentAt, expiresAt).lastInsertRowid)
  }

  /** A keyed send's row: made, or (its retry) set pending again unless already delivered; 0 then. */
  upsertOutbound(peerId: string, id: string, text: string, sentAt: number, expiresAt: number): number {
    const row = this.s.upsertOut.get(id, peerId, text, sentAt, expiresAt) as { seq: number } | undefined
    return row?.seq ?? 0
  }

  bySeq(seq: number): (Message & { expiresAt: number | null }) | null {
    const row = this.s.bySeq.get(seq) as (MessageRow & { expires_at: number | null }) | undefined
    return row ? { ...rowToMessage(row), expiresAt: row.expires_at } : null
  }

  /** Every outbound message still waiting for its peer, oldest first (the queue after a restart). */
  pendingOutbound(): (Message & { expiresAt: number })[] {
    return (this.s.pendingOut.all() as (MessageRow & { expires_at: number | null })[]).map((row) => ({ ...rowToMessage(row), expiresAt: row.expires_at ?? Number.MAX_SAFE_INTEGER }))
  }

  /** Pending messages whose expiry has come become failed; returns them (as failed). */
  expirePending(now: number): Message[] {
    return (this.s.expire.all(now) as MessageRow[]).map(rowToMessage)
  }

  /** A failed outbound message becomes pending again with a new expiry; whether it did. */
  requeueFailed(seq: number, expiresAt: number): boolean {
    return this.s.requeue.run(expiresAt, seq).changes === 1
  }

  /** Removes an outbound message still pending or failed; whether it did. */
  deleteOutbound(seq: number): boolean {
    return this.s.deleteOut.run(seq).changes === 1
  }

  outboundStatus(peerId: string, id: string): string | null {
    const row = this.s.byKey.get(peerId, 'out', id) as { status: string } | undefined
    return row?.status ?? null
  }

  /** Delivered is final: a late failure never overwrites it. Returns whether a row changed. */
  setOutboundStatus(peerId: string, id: string, status: 'delivered' | 'failed', at: number | null): boolean {
    return this.s.setStatus.run(status, at, peerId, id).changes === 1
  }

  /** As setOutboundStatus, by the row's seq (a primary-key lookup: the hot path). */
  setOutboundStatusBySeq(seq: number, status: 'delivered' | 'failed', at: number | null): boolean {
    return this.s.setStatusBySeq.run(status, at, seq).changes === 1
  }

  /**
   * Index up to `maxRows` stored messages not yet in the full-text index, in one
   * transaction; returns how many were indexed (0: the index is complete).
   */
  indexPending(maxRows: number): number {
    const db = this.store.db
    const s = this.s
    return db.transaction(() => {
      const from = s.progress.get() as number
      const upTo = Math.min(this.lastSeq(), from + maxRows)
      if (upTo <= from) return 0
      s.indexRange.run(from, upTo)
      s.setProgress.run(upTo)
      return upTo - from
    })()
  }

  private lastSeq(): number {
    return this.s.lastSeq.get() as number
  }

  get(peerId: string, direction: 'in' | 'out', id: string): Message | null {
    const row = this.s.byKey.get(peerId, direction, id) as MessageRow | undefined
    return row ? rowToMessage(row) : null
  }

  list(opts: { peerId?: string; before?: number; limit: number }): Message[] {
    const where: string[] = []
    const args: (string | number)[] = []
    if (opts.peerId !== undefined) {
      where.push('peer_id = ?')
      args.push(opts.peerId)
    }
    if (opts.before !== undefined) {
      where.push('seq < ?')
      args.push(opts.before)
    }
    const sql = `SELECT ${COLUMNS} FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`
    args.push(opts.limit)
    return (this.store.db.prepare(sql).all(...args) as MessageRow[]).map(rowToMessage)
  }

  /** Full-text search over every stored message; `ftsQuery` must come from toFtsQuery. The rest of the index is made first (the service has caught it up in chunks). */
  search(ftsQuery: string, limit: number): Message[] {
    while (this.indexPending(10_000) > 0);
    const rows = this.store.db
      .prepare(
        `SELECT m.seq, m.msg_id, m.peer_id, m.direction, m.text, m.sent_at, m.received_at, m.status
         FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
         WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts), m.seq DESC LIMIT ?`,
      )
      .all(ftsQuery, limit) as MessageRow[]
    return rows.map(rowToMessage)
  }

  /** The most recent conversations first: an index walk over one row per peer, a primary-key read for each last message. */
  conversations(limit: number): Conversation[] {
    const rows = this.store.db
      .prepare(
        `SELECT c.unread AS c_unread, c.total AS c_total, m.seq, m.msg_id, m.peer_id, m.direction, m.text, m.sent_at, m.received_at, m.status
         FROM message_conversations c JOIN messages m ON m.seq = c.last_seq
         WHERE c.total > 0 ORDER BY c.last_seq DESC LIMIT ?`,
      )
      .all(limit) as (MessageRow & { c_unread: number; c_total: number })[]
    return rows.map((row) => ({ peerId: row.peer_id, last: rowToMessage(row), unread: row.c_unread, total: row.c_total }))
  }

  unread(): Unread {
    const rows = this.store.db.prepare('SELECT peer_id, unread FROM message_conversations WHERE unread > 0').all() as { peer_id: string; unread: number }[]
    const byPeer: Record<string, number> = {}
    let total = 0
    for (const row of rows) {
      byPeer[row.peer_id] = row.unread
      total += row.unread
    }
    return { total, byPeer }
  }

  /**
   * Moves a peer's read marker forward to `upToSeq` (never back, never past the peer's
   * newest message, so a message yet to come is never read before it exists) and recounts what is
   * still unread after it (received later than the marker: usually none). Whether it moved.
   */
  markRead(peerId: string, upToSeq: number): boolean {
    return (
      this.store.db
        .prepare(
          `UPDATE message_conversations SET read_seq = MIN(@upTo, last_seq),
             unread = (SELECT COUNT(*) FROM messages WHERE peer_id = @peer AND direction = 'in' AND seq > MIN(@upTo, message_conversations.last_seq))
           WHERE peer_id = @peer AND read_seq < MIN(@upTo, last_seq)`,
        )
        .run({ upTo: upToSeq, peer: peerId }).changes === 1
    )
  }

  count(): number {
    return (this.store.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n
  }
}
