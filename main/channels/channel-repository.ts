import type { Channel, ChannelPayment } from '../../shared/contract/index.js'
import type { Statement } from 'better-sqlite3'
import type { Store } from '../store/index.js'
import type { ChannelStatus } from './state-machine.js'

export type ChannelRole = 'payer' | 'payee'

type Stmt = Statement<unknown[], unknown>

/** Everything stored about one channel. */
export interface ChannelRecord {
  id: string
  peerId: string
  role: ChannelRole
  state: ChannelStatus
  capacitySats: number
  paidSats: number
  seq: number
  /** Payee: the payer's signature (hex DER + sighash byte) over settlement `seq`. */
  lastSig: string | null
  expiry: number
  feeRate: number
  settlementFeeSats: number
  refundFeeSats: number
  keyIndex: number
  payerPub: string
  payeePub: string | null
  payerAddress: string
  payeeAddress: string | null
  fundingTxid: string | null
  fundingVout: number | null
  fundingHex: string | null
  reservationId: string | null
  refundPayeeSig: string | null
  settlementTxid: string | null
  refundTxid: string | null
  createdAt: number
  updatedAt: number
}

export interface PaymentRecord {
  channelId: string
  seq: number
  sats: number
  paidSats: number
  sig: string
  memo: string | null
  status: 'sent' | 'acked'
  createdAt: number
}

const COLUMNS: readonly [keyof ChannelRecord, string][] = [
  ['id', 'id'], ['peerId', 'peer_id'], ['role', 'role'], ['state', 'state'], ['capacitySats', 'capacity_sats'], ['paidSats', 'paid_sats'],
  ['seq', 'seq'], ['lastSig', 'last_sig'], ['expiry', 'expiry'], ['feeRate', 'fee_rate'], ['settlementFeeSats', 'settlement_fee_sats'],
  ['refundFeeSats', 'refund_fee_sats'], ['keyIndex', 'key_index'], ['payerPub', 'payer_pub'], ['payeePub', 'payee_pub'],
  ['payerAddress', 'payer_address'], ['payeeAddress', 'payee_address'], ['fundingTxid', 'funding_txid'], ['fundingVout', 'funding_vout'],
  ['fundingHex', 'funding_hex'], ['reservationId', 'reservation_id'], ['refundPayeeSig', 'refund_payee_sig'],
  ['settlementTxid', 'settlement_txid'], ['refundTxid', 'refund_txid'], ['createdAt', 'created_at'], ['updatedAt', 'updated_at'],
]
const SELECT = `SELECT ${COLUMNS.map(([k, c]) => `${c} AS ${k}`).join(', ')} FROM channels`

/** SQLite access for channels; callers group writes in transactions (GroupCommit). */
export class ChannelRepository {
  constructor(private readonly store: Store) {}

  /** Prepared statements per connection (the store may reopen): preparing costs more than running. */
  private readonly cache = new WeakMap<object, Map<string, Stmt>>()

  private get db(): { prepare: (sql: string) => Stmt } {
    const db = this.store.db
    let byDb = this.cache.get(db)
    if (!byDb) {
      byDb = new Map()
      this.cache.set(db, byDb)
    }
    const statements = byDb
    return {
      prepare: (sql: string) => {
        let st = statements.get(sql)
        if (!st) {
          st = db.prepare(sql)
          statements.set(sql, st)
        }
        return st
      },
    }
  }

  insert(c: ChannelRecord): void {
    this.db.prepare(`INSERT INTO channels (${COLUMNS.map(([, c]) => c).join(', ')}) VALUES (${COLUMNS.map(([k]) => `@${k}`).join(', ')})`).run(c)
  }

  /** Writes every field of `c` (the engine keeps the record in memory and saves it whole). */
  save(c: ChannelRecord): void {
    this.db.prepare(`UPDATE channels SET ${COLUMNS.filter(([k]) => k !== 'id').map(([k, c]) => `${c} = @${k}`).join(', ')} WHERE id = @id`).run(c)
  }

  get(id: string): ChannelRecord | null {
    return (this.db.prepare(`${SELECT} WHERE id = ?`).get(id) as ChannelRecord | undefined) ?? null
  }

  all(): ChannelRecord[] {
    return this.db.prepare(`${SELECT} ORDER BY created_at DESC, id`).all() as ChannelRecord[]
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM channels').get() as { n: number }).n
  }

  countByState(): [ChannelStatus, number][] {
    return (this.db.prepare('SELECT state, COUNT(*) AS n FROM channels GROUP BY state').all() as { state: ChannelStatus; n: number }[]).map((r) => [r.state, r.n])
  }

  nextKeyIndex(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(key_index), -1) + 1 AS n FROM channels').get() as { n: number }).n
  }

  /** Payee: the new latest state and its payment, in the caller's transaction. */
  storeReceived(id: string, p: PaymentRecord, now: number): void {
    this.db.prepare('UPDATE channels SET seq = ?, paid_sats = ?, last_sig = ?, updated_at = ? WHERE id = ?').run(p.seq, p.paidSats, p.sig, now, id)
    this.db.prepare('INSERT INTO channel_payments (channel_id, seq, sats, paid_sats, sig, memo, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(id, p.seq, p.sats, p.paidSats, p.sig, p.memo, 'acked', p.createdAt)
  }

  /** Payer: a signed state about to leave. */
  insertSent(p: PaymentRecord): void {
    this.db.prepare('INSERT INTO channel_payments (channel_id, seq, sats, paid_sats, sig, memo, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(p.channelId, p.seq, p.sats, p.paidSats, p.sig, p.memo, 'sent', p.createdAt)
  }

  /** Payer: the payee stored every state up to `seq`. */
  markAcked(id: string, seq: number, paidSats: number, now: number): void {
    this.db.prepare("UPDATE channel_payments SET status = 'acked' WHERE channel_id = ? AND seq <= ? AND status = 'sent'").run(id, seq)
    this.db.prepare('UPDATE channels SET seq = ?, paid_sats = ?, updated_at = ? WHERE id = ? AND seq < ?').run(seq, paidSats, now, id, seq)
  }

  payment(id: string, seq: number): PaymentRecord | null {
    return (this.db.prepare('SELECT channel_id AS channelId, seq, sats, paid_sats AS paidSats, sig, memo, status, created_at AS createdAt FROM channel_payments WHERE channel_id = ? AND seq = ?').get(id, seq) as PaymentRecord | undefined) ?? null
  }

  /** Payer: the newest signed state (sent or acked). */
  latestPayment(id: string): PaymentRecord | null {
    return (this.db.prepare('SELECT channel_id AS channelId, seq, sats, paid_sats AS paidSats, sig, memo, status, created_at AS createdAt FROM channel_payments WHERE channel_id = ? ORDER BY seq DESC LIMIT 1').get(id) as PaymentRecord | undefined) ?? null
  }

  payments(id: string, limit: number): PaymentRecord[] {
    return this.db.prepare('SELECT channel_id AS channelId, seq, sats, paid_sats AS paidSats, sig, memo, status, created_at AS createdAt FROM channel_payments WHERE channel_id = ? ORDER BY seq DESC LIMIT ?').all(id, limit) as PaymentRecord[]
  }
}

export function toChannel(c: ChannelRecord): Channel {
  return {
    id: c.id,
    peerId: c.peerId,
    role: c.role,
    state: c.state,
    capacitySats: c.capacitySats,
    paidSats: c.paidSats,
    seq: c.seq,
    expiry: c.expiry,
    settlementFeeSats: c.settlementFeeSats,
    fundingTxid: c.fundingTxid,
    settlementTxid: c.settlementTxid,
    refundTxid: c.refundTxid,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  }
}

export function toPayment(p: PaymentRecord): ChannelPayment {
  return { seq: p.seq, sats: p.sats, paidSats: p.paidSats, memo: p.memo, status: p.status, createdAt: new Date(p.createdAt).toISOString() }
}
