import type { Store } from '../store/index.js'
import type { Coin } from './coin-selection.js'
import type { AddressChain } from './mnemonic.js'

export interface KeysRow {
  network: string
  sealed: Uint8Array
  protection: string
}

export interface AddressRow {
  address: string
  chain: AddressChain
  idx: number
  issued: boolean
  used: boolean
}

export interface UtxoRow extends Coin {
  address: string
  state: 'available' | 'reserved' | 'spent'
  reservedBy: string | null
  spentBy: string | null
}

export interface ChainOutput extends Coin {
  address: string
}

export interface TxRow {
  seq: number
  txid: string
  direction: 'in' | 'out'
  sats: number
  fee: number
  address: string | null
  height: number | null
  createdAt: string
}

const ADDRESS_COLUMNS = 'SELECT address, chain, idx, issued, used FROM wallet_addresses'
type StoredAddress = Omit<AddressRow, 'issued' | 'used'> & { issued: number; used: number }
const addressRow = (r: StoredAddress): AddressRow => ({ ...r, issued: r.issued === 1, used: r.used === 1 })

/** A send between reservation and the chain's answer (wallet_pending_sends). */
export interface PendingSend {
  sendId: string
  address: string
  sats: number
  fee: number
  changeAddress: string | null
  changeSats: number
  txid: string | null
  rawHex: string | null
}

/** All wallet rows and the only place their SQL is written; every multi-row change is one SQLite transaction. */
export class WalletRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db
  }

  /** `fn` as one SQLite transaction: every row it writes, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }

  /**
   * The stored outputs behind `coins`, each with the key path of the address holding it;
   * null when one is unknown or not at one of our addresses (its key cannot sign).
   */
  keyedCoins(coins: readonly Coin[]): (Coin & { address: string; chain: AddressChain; idx: number })[] | null {
    const stmt = this.db.prepare('SELECT u.address AS address, a.chain AS chain, a.idx AS idx FROM wallet_utxos u JOIN wallet_addresses a ON a.address = u.address WHERE u.txid = ? AND u.vout = ?')
    const out: (Coin & { address: string; chain: AddressChain; idx: number })[] = []
    for (const c of coins) {
      const row = stmt.get(c.txid, c.vout) as { address: string; chain: AddressChain; idx: number } | undefined
      if (!row) return null
      out.push({ ...c, ...row })
    }
    return out
  }

  keys(): KeysRow | null {
    const row = this.db.prepare('SELECT network, sealed, protection FROM wallet_keys WHERE id = 1').get() as { network: string; sealed: Buffer; protection: string } | undefined
    return row ? { network: row.network, sealed: new Uint8Array(row.sealed), protection: row.protection } : null
  }

  /** Replace everything with a new wallet (create or restore), atomically. */
  replaceWallet(network: string, sealed: Uint8Array, protection: string, firstAddresses: { address: string; chain: AddressChain; idx: number; issued: boolean }[]): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM wallet_utxos; DELETE FROM wallet_transactions; DELETE FROM wallet_addresses; DELETE FROM wallet_keys;')
      this.db.prepare('INSERT INTO wallet_keys (id, network, sealed, protection, created_at) VALUES (1, ?, ?, ?, ?)').run(network, Buffer.from(sealed), protection, new Date().toISOString())
      for (const a of firstAddresses) this.insertAddress(a)
    })()
  }

  reseal(sealed: Uint8Array, protection: string): void {
    this.db.prepare('UPDATE wallet_keys SET sealed = ?, protection = ? WHERE id = 1').run(Buffer.from(sealed), protection)
  }

  insertAddress(a: { address: string; chain: AddressChain; idx: number; issued: boolean }): void {
    this.db.prepare('INSERT OR IGNORE INTO wallet_addresses (address, chain, idx, issued) VALUES (?, ?, ?, ?)').run(a.address, a.chain, a.idx, a.issued ? 1 : 0)
    if (a.issued) this.db.prepare('UPDATE wallet_addresses SET issued = 1 WHERE address = ?').run(a.address)
  }

  addressAt(chain: AddressChain, idx: number): string | null {
    return (this.db.prepare('SELECT address FROM wallet_addresses WHERE chain = ? AND idx = ?').get(chain, idx) as { address: string } | undefined)?.address ?? null
  }

  addressPath(address: string): { chain: AddressChain; idx: number } | null {
    return (this.db.prepare('SELECT chain, idx FROM wallet_addresses WHERE address = ?').get(address) as { chain: AddressChain; idx: number } | undefined) ?? null
  }

  addresses(): AddressRow[] {
    return (this.db.prepare(`${ADDRESS_COLUMNS} ORDER BY chain, idx`).all() as StoredAddress[]).map(addressRow)
  }

  /** Highest index on a chain (any row), and highest issued / used index; -1 when none. */
  chainStats(chain: AddressChain): { maxIdx: number; maxIssued: number; maxUsed: number } {
    const r = this.db
      .prepare(
        `SELECT COALESCE(MAX(idx), -1) AS maxIdx,
                COALESCE(MAX(CASE WHEN issued = 1 THEN idx END), -1) AS maxIssued,
                COALESCE(MAX(CASE WHEN used = 1 THEN idx END), -1) AS maxUsed
         FROM wallet_addresses WHERE chain = ?`,
      )
      .get(chain) as { maxIdx: number; maxIssued: number; maxUsed: number }
    return r
  }

  currentReceive(): AddressRow | null {
    const r = this.db.prepare(`${ADDRESS_COLUMNS} WHERE chain = 0 AND issued = 1 ORDER BY idx DESC LIMIT 1`).get() as StoredAddress | undefined
    return r ? addressRow(r) : null
  }

  balance(): { confirmed: number; unconfirmed: number } {
    const r = this.db
      .prepare(
        `SELECT COALESCE(SUM(CASE WHEN height IS NOT NULL THEN satoshis END), 0) AS confirmed,
                COALESCE(SUM(CASE WHEN height IS NULL THEN satoshis END), 0) AS unconfirmed
         FROM wallet_utxos WHERE state != 'spent'`,
      )
      .get() as { confirmed: number; unconfirmed: number }
    return r
  }

  availableCoins(): UtxoRow[] {
    return this.utxosWhere("state = 'available'")
  }

  utxos(): UtxoRow[] {
    return this.utxosWhere('1 = 1')
  }

  private utxosWhere(where: string): UtxoRow[] {
    return this.db.prepare(`SELECT txid, vout, satoshis, address, height, state, reserved_by AS reservedBy, spent_by AS spentBy FROM wallet_utxos WHERE ${where}`).all() as UtxoRow[]
  }

  countReserved(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM wallet_utxos WHERE state = 'reserved'").get() as { n: number }).n
  }

  /**
   * Reserve exactly these coins for one send, or none: a coin some other send took first
   * makes the whole reservation fail. Runs inside the caller's transaction.
   */
  reserve(coins: readonly Coin[], sendId: string): boolean {
    const stmt = this.db.prepare("UPDATE wallet_utxos SET state = 'reserved', reserved_by = ? WHERE txid = ? AND vout = ? AND state = 'available'")
    for (const c of coins) if (stmt.run(sendId, c.txid, c.vout).changes !== 1) return false
    return true
  }

  release(sendId: string): void {
    this.db.prepare("UPDATE wallet_utxos SET state = 'available', reserved_by = NULL WHERE state = 'reserved' AND reserved_by = ?").run(sendId)
  }

  /**
   * Free the coins reserved by neither a pending send nor one of `held`: a channel funding
   * interrupted between its coins' reservation and its channel's record left them behind,
   * and nothing else would ever release them. Only while no funding is in flight (at start).
   * Returns how many coins were freed.
   */
  releaseReservationsExcept(held: readonly string[]): number {
    return this.db
      .prepare(
        `UPDATE wallet_utxos SET state = 'available', reserved_by = NULL
         WHERE state = 'reserved'
           AND reserved_by NOT IN (SELECT send_id FROM wallet_pending_sends)
           AND reserved_by NOT IN (SELECT value FROM json_each(?))`,
      )
      .run(JSON.stringify(held)).changes
  }

  /** Runs inside the reservation's transaction: the send exists from the moment its coins are taken. */
  insertPendingSend(p: Omit<PendingSend, 'txid' | 'rawHex'>, now: number): void {
    this.db
      .prepare('INSERT INTO wallet_pending_sends (send_id, address, sats, fee, change_address, change_sats, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(p.sendId, p.address, p.sats, p.fee, p.changeAddress, p.changeSats, now)
  }

  /** The signed bytes, stored before they are broadcast. */
  setPendingRaw(sendId: string, txid: string, rawHex: string): void {
    this.db.prepare('UPDATE wallet_pending_sends SET txid = ?, raw_hex = ? WHERE send_id = ?').run(txid, rawHex, sendId)
  }

  /** Our send `txid` as the history holds it (the chain took it). */
  sentTransaction(txid: string): { txid: string; sats: number; fee: number } | null {
    return (this.db.prepare("SELECT txid, sats, fee FROM wallet_transactions WHERE txid = ? AND direction = 'out'").get(txid) as { txid: string; sats: number; fee: number } | undefined) ?? null
  }

  pendingSend(sendId: string): PendingSend | null {
    return (
      (this.db
        .prepare('SELECT send_id AS sendId, address, sats, fee, change_address AS changeAddress, change_sats AS changeSats, txid, raw_hex AS rawHex FROM wallet_pending_sends WHERE send_id = ?')
        .get(sendId) as PendingSend | undefined) ?? null
    )
  }

  pendingSends(): PendingSend[] {
    return this.db
      .prepare('SELECT send_id AS sendId, address, sats, fee, change_address AS changeAddress, change_sats AS changeSats, txid, raw_hex AS rawHex FROM wallet_pending_sends ORDER BY created_at')
      .all() as PendingSend[]
  }

  /** The send certainly did not happen: its coins are free again. */
  abandonSend(sendId: string): void {
    this.db.transaction(() => {
      this.release(sendId)
      this.db.prepare('DELETE FROM wallet_pending_sends WHERE send_id = ?').run(sendId)
    })()
  }

  /** The send was accepted by the chain: inputs spent, change owned, history written. */
  completeSend(sendId: string, tx: { txid: string; sats: number; fee: number; address: string; change: ChainOutput | null }, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE wallet_utxos SET state = 'spent', spent_by = ?, reserved_by = NULL WHERE state = 'reserved' AND reserved_by = ?").run(tx.txid, sendId)
      if (tx.change) {
        this.db
          .prepare("INSERT OR IGNORE INTO wallet_utxos (txid, vout, satoshis, address, height, state, seen_at) VALUES (?, ?, ?, ?, NULL, 'available', ?)")
          .run(tx.change.txid, tx.change.vout, tx.change.satoshis, tx.change.address, now)
        this.db.prepare('UPDATE wallet_addresses SET used = 1 WHERE address = ?').run(tx.change.address)
      }
      this.db
        .prepare("INSERT OR IGNORE INTO wallet_transactions (txid, direction, sats, fee, address, height, created_at) VALUES (?, 'out', ?, ?, ?, NULL, ?)")
        .run(tx.txid, tx.sats, tx.fee, tx.address, new Date(now).toISOString())
      this.db.prepare('DELETE FROM wallet_pending_sends WHERE send_id = ?').run(sendId)
    })()
  }

  /**
   * Make the stored outputs match what the chain lists for the watched addresses. New
   * outputs are added; outputs gone from the chain are dropped unless a send of ours holds
   * them (reserved) or they were added after this sync's look-ups began (`startedAt`);
   * outputs we spent are dropped once the chain stops listing them. Returns whether
   * anything changed.
   */
  applySync(listed: readonly ChainOutput[], startedAt: number, revived: readonly { txid: string; vout: number }[], usedAddresses: readonly string[] = []): boolean {
    let changed = false
    this.db.transaction(() => {
      const known = new Map(this.utxos().map((u) => [`${u.txid}:${u.vout}`, u]))
      const listedKeys = new Set<string>()
      const insert = this.db.prepare("INSERT INTO wallet_utxos (txid, vout, satoshis, address, height, state, seen_at) VALUES (?, ?, ?, ?, ?, 'available', ?)")
      const setHeight = this.db.prepare('UPDATE wallet_utxos SET height = ? WHERE txid = ? AND vout = ?')
      const markUsed = this.db.prepare('UPDATE wallet_addresses SET used = 1 WHERE address = ? AND used = 0')
      const recordIn = this.db.prepare(
        `INSERT INTO wallet_transactions (txid, direction, sats, fee, address, height, created_at)
         SELECT ?, 'in', 0, 0, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM wallet_transactions WHERE txid = ?)
         ON CONFLICT (txid, direction) DO NOTHING`,
      )
      const addIn = this.db.prepare("UPDATE wallet_transactions SET sats = sats + ? WHERE txid = ? AND direction = 'in'")
      const now = Date.now()
      for (const out of listed) {
        const key = `${out.txid}:${out.vout}`
        listedKeys.add(key)
        if (markUsed.run(out.address).changes > 0) changed = true
        const row = known.get(key)
        if (!row) {
          insert.run(out.txid, out.vout, out.satoshis, out.address, out.height, now)
          recordIn.run(out.txid, out.address, out.height, new Date(now).toISOString(), out.txid)
          addIn.run(out.satoshis, out.txid)
          changed = true
        } else if (row.height !== out.height) {
          setHeight.run(out.height, out.txid, out.vout)
          changed = true
        }
      }
      for (const address of usedAddresses) if (markUsed.run(address).changes > 0) changed = true
      const drop = this.db.prepare('DELETE FROM wallet_utxos WHERE txid = ? AND vout = ?')
      const seenAt = this.db.prepare('SELECT seen_at AS seenAt FROM wallet_utxos WHERE txid = ? AND vout = ?')
      for (const [key, row] of known) {
        if (listedKeys.has(key) || row.state === 'reserved') continue
        const seen = (seenAt.get(row.txid, row.vout) as { seenAt: number }).seenAt
        if (row.state === 'available' && seen >= startedAt) continue
        drop.run(row.txid, row.vout)
        changed = true
      }
      // Spent by a transaction the chain does not know (dropped, or never arrived): ours again.
      const revive = this.db.prepare("UPDATE wallet_utxos SET state = 'available', spent_by = NULL WHERE txid = ? AND vout = ? AND state = 'spent'")
      for (const r of revived) if (revive.run(r.txid, r.vout).changes > 0) changed = true
      // History heights follow the outputs they created.
      const heights = this.db.prepare('UPDATE wallet_transactions SET height = (SELECT MAX(height) FROM wallet_utxos u WHERE u.txid = wallet_transactions.txid) WHERE height IS NULL AND EXISTS (SELECT 1 FROM wallet_utxos u WHERE u.txid = wallet_transactions.txid AND u.height IS NOT NULL)')
      if (heights.run().changes > 0) changed = true
    })()
    return changed
  }

  setTxHeight(txid: string, height: number): void {
    this.db.prepare('UPDATE wallet_transactions SET height = ? WHERE txid = ?').run(height, txid)
  }

  unconfirmedSends(limit: number): string[] {
    return (this.db.prepare("SELECT txid FROM wallet_transactions WHERE direction = 'out' AND height IS NULL ORDER BY seq DESC LIMIT ?").all(limit) as { txid: string }[]).map((r) => r.txid)
  }

  transactions(limit: number, before?: number): TxRow[] {
    const rows = this.db
      .prepare(
        `SELECT seq, txid, direction, sats, fee, address, height, created_at AS createdAt FROM wallet_transactions
         WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
      )
      .all(before ?? Number.MAX_SAFE_INTEGER, limit) as TxRow[]
    return rows
  }
}
