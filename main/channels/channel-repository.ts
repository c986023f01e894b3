import type { Statement } from 'better-sqlite3'
import type { CHANNEL_PROBLEMS, Channel, ChannelPayment } from '../../shared/contract/index.js'
import type { Store } from '../store/index.js'
import { CHANNEL_COLUMNS, type ChannelRecord, type ChannelRow, ChannelRowError, decodeChannelRow, encodeChannelRow, fundingOutpointOf, isFunded, stepOf } from './records.js'
import type { ChannelStatus } from './state-machine.js'

type Stmt = Statement<unknown[], unknown>

export interface PaymentRecord {
  channelId: string
  seq: number
  sats: number
  paidSats: number
  /** The payer's signature over `paidSats`; null when a later payment's settlement covers this one (coalesced). */
  sig: string | null
  memo: string | null
  status: 'sent' | 'acked'
  createdAt: number
}

const SELECT = `SELECT ${CHANNEL_COLUMNS.join(', ')} FROM channels`
const PAYMENT = 'SELECT channel_id AS channelId, seq, sats, paid_sats AS paidSats, sig, memo, status, created_at AS createdAt FROM channel_payments'

/** SQLite access for channels; callers group writes in transactions (GroupCommit). */
export class ChannelRepository {
  constructor(private readonly store: Store) {}

  /** Prepared statements per connection (the store may reopen): preparing costs more than running. */
  private readonly cache = new WeakMap<object, Map<string, Stmt>>()

  private prepare(sql: string): Stmt {
    const db = this.store.db
    let statements = this.cache.get(db)
    if (!statements) {
      statements = new Map()
      this.cache.set(db, statements)
    }
    let st = statements.get(sql)
    if (!st) {
      st = db.prepare(sql)
      statements.set(sql, st)
    }
    return st
  }

  /** Refused by the unique constraints when the key index or the funding outpoint is taken. */
  insert(c: ChannelRecord): void {
    this.prepare(`INSERT INTO channels (${CHANNEL_COLUMNS.join(', ')}) VALUES (${CHANNEL_COLUMNS.map((k) => `@${k}`).join(', ')})`).run(encodeChannelRow(c))
  }

  /** Writes every column of `c` (the engine keeps the record in memory and saves it whole). */
  save(c: ChannelRecord): void {
    this.prepare(`UPDATE channels SET ${CHANNEL_COLUMNS.filter((k) => k !== 'id').map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run(encodeChannelRow(c))
  }

  /** The funding's block height alone: the amounts a payment moves meanwhile are not this write's. */
  setFundingHeight(id: string, height: number, now: number): void {
    this.prepare('UPDATE channels SET funding_height = ?, updated_at = ? WHERE id = ?').run(height, now, id)
  }

  get(id: string): ChannelRecord | null {
    const row = this.prepare(`${SELECT} WHERE id = ?`).get(id) as ChannelRow | undefined
    return row ? decodeChannelRow(row) : null
  }

  /** Every channel that decodes; a row that does not is reported to `onBroken` and left on disk untouched. */
  all(onBroken: (err: ChannelRowError) => void = (err) => {
    throw err
  }): ChannelRecord[] {
    const out: ChannelRecord[] = []
    for (const row of this.prepare(`${SELECT} ORDER BY created_at DESC, id`).all() as ChannelRow[]) {
      try {
        out.push(decodeChannelRow(row))
      } catch (err) {
        if (err instanceof ChannelRowError) onBroken(err)
        else throw err
      }
    }
    return out
  }

  /** The channels not yet in a terminal state (the engine holds these in memory). */
  live(onBroken: (err: ChannelRowError) => void): ChannelRecord[] {
    const out: ChannelRecord[] = []
    for (const row of this.prepare(`${SELECT} WHERE state NOT IN ('closed', 'refunded', 'failed', 'rejected') ORDER BY created_at, id`).all() as ChannelRow[]) {
      try {
        out.push(decodeChannelRow(row))
      } catch (err) {
        if (err instanceof ChannelRowError) onBroken(err)
        else throw err
      }
    }
    return out
  }

  /** Archives an ended channel (a live one is left alone); false when it was not archivable or already archived. */
  archive(id: string, now: number): boolean {
    return this.prepare("UPDATE channels SET archived_at = @now, updated_at = @now WHERE id = @id AND archived_at IS NULL AND state IN ('closed', 'refunded', 'failed', 'rejected')").run({ id, now }).changes === 1
  }

  /** When the channel was archived (ms since the epoch), or null. */
  archivedAt(id: string): number | null {
    return (this.prepare('SELECT archived_at AS at FROM channels WHERE id = ?').get(id) as { at: number | null } | undefined)?.at ?? null
  }

  /** Every archived channel and when it was archived. */
  archived(): Map<string, number> {
    return new Map((this.prepare('SELECT id, archived_at AS at FROM channels WHERE archived_at IS NOT NULL').all() as { id: string; at: number }[]).map((r) => [r.id, r.at]))
  }

  /** The channels (any state, archived too) whose funding, settlement or refund is one of `txids`. */
  byTxids(txids: readonly string[]): { id: string; peerId: string; fundingTxid: string | null; settlementTxid: string | null; refundTxid: string | null }[] {
    if (txids.length === 0) return []
    return this.prepare(
      `SELECT id, peer_id AS peerId, funding_txid AS fundingTxid, settlement_txid AS settlementTxid, refund_txid AS refundTxid FROM channels
       WHERE funding_txid IN (SELECT value FROM json_each(@list)) OR settlement_txid IN (SELECT value FROM json_each(@list)) OR refund_txid IN (SELECT value FROM json_each(@list))`,
    ).all({ list: JSON.stringify(txids) }) as { id: string; peerId: string; fundingTxid: string | null; settlementTxid: string | null; refundTxid: string | null }[]
  }

  count(): number {
    return (this.prepare('SELECT COUNT(*) AS n FROM channels').get() as { n: number }).n
  }

  countByState(): [ChannelStatus, number][] {
    return (this.prepare('SELECT state, COUNT(*) AS n FROM channels GROUP BY state').all() as { state: ChannelStatus; n: number }[]).map((r) => [r.state, r.n])
  }

  /** The highest key index given out: by a channel here, or by one a restored backup named. */
  maxKeyIndex(): number {
    return (this.prepare('SELECT MAX(COALESCE((SELECT MAX(key_index) FROM channels), -1), COALESCE((SELECT next - 1 FROM channel_key_floor WHERE id = 1), -1)) AS n').get() as { n: number }).n
  }

  setKeyFloor(next: number): void {
    this.prepare('INSERT INTO channel_key_floor (id, next) VALUES (1, @next) ON CONFLICT (id) DO UPDATE SET next = MAX(next, @next)').run({ next })
  }

  /**
   * The wallet reservations of fundings that may be on chain (from the refund's signature on),
   * read from the rows themselves: a row that does not load still holds its coins.
   */
  heldFundingReservations(): string[] {
    return this.prepare("SELECT reservation_id FROM channels WHERE role = 'payer' AND state = 'funding' AND step IN ('refund-signed', 'broadcast') AND reservation_id IS NOT NULL")
      .pluck()
      .all() as string[]
  }

  /** The channel (of any state) that already names this funding outpoint, if another one does. */
  fundingOwner(txid: string, vout: number): string | null {
    return (this.prepare('SELECT id FROM channels WHERE funding_txid = ? AND funding_vout = ?').get(txid, vout) as { id: string } | undefined)?.id ?? null
  }

  /** Payee: the new latest state (the last of `payments`, which holds its signature) and a row per payment, in the caller's transaction. */
  storeReceived(id: string, payments: readonly PaymentRecord[], now: number): void {
    const last = payments[payments.length - 1]!
    this.prepare('UPDATE channels SET seq = ?, paid_sats = ?, last_sig = ?, updated_at = ? WHERE id = ?').run(last.seq, last.paidSats, last.sig, now, id)
    const insert = this.prepare('INSERT INTO channel_payments (channel_id, seq, sats, paid_sats, sig, memo, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    for (const p of payments) insert.run(id, p.seq, p.sats, p.paidSats, p.sig, p.memo, 'acked', p.createdAt)
  }

  /** Payer: a signed state about to leave. */
  insertSent(p: PaymentRecord): void {
    this.prepare('INSERT INTO channel_payments (channel_id, seq, sats, paid_sats, sig, memo, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(p.channelId, p.seq, p.sats, p.paidSats, p.sig, p.memo, 'sent', p.createdAt)
  }

  /** Payer: the payee stored every state up to `seq`. */
  markAcked(id: string, seq: number, paidSats: number, now: number): void {
    this.prepare("UPDATE channel_payments SET status = 'acked' WHERE channel_id = ? AND seq <= ? AND status = 'sent'").run(id, seq)
    this.prepare('UPDATE channels SET seq = ?, paid_sats = ?, updated_at = ? WHERE id = ? AND seq < ?').run(seq, paidSats, now, id, seq)
  }

  payment(id: string, seq: number): PaymentRecord | null {
    return (this.prepare(`${PAYMENT} WHERE channel_id = ? AND seq = ?`).get(id, seq) as PaymentRecord | undefined) ?? null
  }

  /** Payer: the signed state that paid the payee exactly `paidSats`, if we ever signed one (a covered, unsigned amount is not). */
  paymentPaying(id: string, paidSats: number): PaymentRecord | null {
    return (this.prepare(`${PAYMENT} WHERE channel_id = ? AND paid_sats = ? AND sig IS NOT NULL ORDER BY seq DESC LIMIT 1`).get(id, paidSats) as PaymentRecord | undefined) ?? null
  }

  /** Payer: the newest signed state (sent or acked). */
  latestPayment(id: string): PaymentRecord | null {
    return (this.prepare(`${PAYMENT} WHERE channel_id = ? ORDER BY seq DESC LIMIT 1`).get(id) as PaymentRecord | undefined) ?? null
  }

  payments(id: string, limit: number): PaymentRecord[] {
    return this.prepare(`${PAYMENT} WHERE channel_id = ? ORDER BY seq DESC LIMIT ?`).all(id, limit) as PaymentRecord[]
  }
}

/** What the engine knows of a channel beyond its record (live, not stored). */
export interface ChannelView {
  /** When its owner archived it (ms since the epoch); ended channels only. */
  archivedAt?: number | null
  problem: { code: (typeof CHANNEL_PROBLEMS)[number]; message: string; since: number } | null
  fundingConfirmations: number | null
  requiredConfirmations: number | null
}

const NO_VIEW: ChannelView = { problem: null, fundingConfirmations: null, requiredConfirmations: null }

export function toChannel(c: ChannelRecord, view: ChannelView = NO_VIEW): Channel {
  const funded = isFunded(c)
  const spend = funded && c.state !== 'open' ? c.spend : null
  return {
    id: c.id,
    peerId: c.peerId,
    role: c.role,
    state: c.state,
    step: stepOf(c),
    failure: c.state === 'failed' ? c.failure : null,
    problem: view.problem ? { code: view.problem.code, message: view.problem.message, since: new Date(view.problem.since).toISOString() } : null,
    capacitySats: c.capacitySats,
    paidSats: funded ? c.paidSats : 0,
    seq: funded ? c.seq : 0,
    expiry: c.expiry,
    settlementFeeSats: c.settlementFeeSats,
    fundingTxid: c.state === 'failed' ? c.fundingTxid : (fundingOutpointOf(c)?.txid ?? null),
    fundingConfirmations: view.fundingConfirmations,
    requiredConfirmations: view.requiredConfirmations,
    settlementTxid: spend?.kind === 'settlement' ? spend.txid : null,
    refundTxid: spend?.kind === 'refund' ? spend.txid : null,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
    archivedAt: view.archivedAt == null ? null : new Date(view.archivedAt).toISOString(),
  }
}

export function toPayment(p: PaymentRecord): ChannelPayment {
  return { seq: p.seq, sats: p.sats, paidSats: p.paidSats, memo: p.memo, status: p.status, createdAt: new Date(p.createdAt).toISOString() }
}
