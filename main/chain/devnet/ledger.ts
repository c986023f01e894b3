import { createHash, randomBytes } from 'node:crypto'
import { P2PKH, PrivateKey, Transaction, UnlockingScript } from '@bsv/sdk'
import { type Db, type Migration, migrate, openDatabase, openSqlite } from '../../store/index.js'
import { DevnetRejection, type Validated, type ValidationContext, type SpentOutput } from './validate.js'

const devnetMigrations: Migration[] = [
  {
    id: 'devnet-001',
    up: `
      CREATE TABLE devnet_blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL) STRICT;
      -- height NULL: in the mempool
      CREATE TABLE devnet_txs (txid TEXT PRIMARY KEY, raw BLOB NOT NULL, height INTEGER, accepted_at INTEGER NOT NULL) STRICT;
      CREATE INDEX devnet_txs_mempool ON devnet_txs(height);
      CREATE TABLE devnet_outputs (
        txid TEXT NOT NULL, vout INTEGER NOT NULL, satoshis INTEGER NOT NULL, script BLOB NOT NULL,
        pkh TEXT, spent_by TEXT, PRIMARY KEY (txid, vout)
      ) STRICT;
      CREATE INDEX devnet_outputs_pkh ON devnet_outputs(pkh);
    `,
  },
]

/** The faucet's key: devnet coins are worthless, so a fixed, public key is fine and survives restarts. */
export const FAUCET_KEY = PrivateKey.fromHex(createHash('sha256').update('bsv-p2p-wallet devnet faucet').digest('hex'))
const GENESIS_REWARD = 1_000_000_000_000_000 // 10M BSV for the faucet

export interface LedgerUtxo {
  txid: string
  vout: number
  satoshis: number
  height: number | null
}

/** The P2PKH pubkey hash of a locking script, or null for any other script. */
function p2pkhHash(script: Uint8Array): string | null {
  if (script.length === 25 && script[0] === 0x76 && script[1] === 0xa9 && script[2] === 0x14 && script[23] === 0x88 && script[24] === 0xac) {
    return Buffer.from(script.subarray(3, 23)).toString('hex')
  }
  return null
}

/**
 * The devnet's chain: blocks, transactions (mempool = no height yet) and the output set.
 * SQLite in the data dir when given (survives restarts), in memory otherwise.
 */
export class Ledger {
  readonly db: Db

  constructor(dataDir?: string) {
    this.db = dataDir ? openDatabase(dataDir) : openSqlite(':memory:')
    migrate(this.db, devnetMigrations)
    if (this.tip() === null) this.genesis()
  }

  close(): void {
    if (!this.db.open) return
    if (this.db.memory) {
      this.db.close()
      return
    }
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
    } finally {
      this.db.close()
    }
  }

  tip(): { height: number; hash: string; time: number } | null {
    return (this.db.prepare('SELECT height, hash, time FROM devnet_blocks ORDER BY height DESC LIMIT 1').get() as { height: number; hash: string; time: number } | undefined) ?? null
  }

  get height(): number {
    return this.tip()?.height ?? 0
  }

  validationContext(minFeeRateSatsPerKb: number): ValidationContext {
    const get = this.db.prepare('SELECT satoshis, script, spent_by AS spentBy FROM devnet_outputs WHERE txid = ? AND vout = ?')
    return {
      output: (txid, vout) => get.get(txid, vout) as SpentOutput | undefined,
      nextHeight: this.height + 1,
      nowSeconds: Math.floor(Date.now() / 1000),
      minFeeRateSatsPerKb,
    }
  }

  hasTx(txid: string): boolean {
    return this.db.prepare('SELECT 1 FROM devnet_txs WHERE txid = ?').get(txid) !== undefined
  }

  rawTx(txid: string): Buffer | null {
    const row = this.db.prepare('SELECT raw FROM devnet_txs WHERE txid = ?').get(txid) as { raw: Buffer } | undefined
    return row?.raw ?? null
  }

  txHeight(txid: string): { height: number | null } | null {
    const row = this.db.prepare('SELECT height FROM devnet_txs WHERE txid = ?').get(txid) as { height: number | null } | undefined
    return row ?? null
  }

  utxos(pkh: string): LedgerUtxo[] {
    return this.db
      .prepare(
        `SELECT o.txid, o.vout, o.satoshis, t.height FROM devnet_outputs o JOIN devnet_txs t ON t.txid = o.txid
         WHERE o.pkh = ? AND o.spent_by IS NULL ORDER BY t.height IS NULL, t.height, o.txid, o.vout`,
      )
      .all(pkh) as LedgerUtxo[]
  }

  /** Transactions that paid the pubkey hash or spent from it. */
  history(pkh: string): { txid: string; height: number | null }[] {
    return this.db
      .prepare(
        `SELECT t.txid, t.height FROM devnet_txs t WHERE t.txid IN (
           SELECT txid FROM devnet_outputs WHERE pkh = ? UNION SELECT spent_by FROM devnet_outputs WHERE pkh = ? AND spent_by IS NOT NULL)
         ORDER BY t.height IS NULL, t.height, t.txid`,
      )
      .all(pkh, pkh) as { txid: string; height: number | null }[]
  }

  /** The transaction (mined or in the mempool) that spends this output, or null. */
  spender(txid: string, vout: number): { txid: string; vin: number } | null {
    const row = this.db.prepare('SELECT spent_by AS spentBy FROM devnet_outputs WHERE txid = ? AND vout = ?').get(txid, vout) as { spentBy: string | null } | undefined
    if (!row?.spentBy) return null
    const raw = this.rawTx(row.spentBy)
    if (!raw) return null
    const vin = Transaction.fromBinary(Array.from(raw)).inputs.findIndex((i) => i.sourceTXID === txid && i.sourceOutputIndex === vout)
    return { txid: row.spentBy, vin }
  }

  /**
   * Drops mempool transactions, and every mempool transaction that spends their outputs,
   * as a node does when a conflicting transaction wins: their inputs are unspent again.
   * Mined transactions stay (the devnet has no reorgs). Returns the txids dropped.
   */
  evict(txids: readonly string[]): string[] {
    const dropped: string[] = []
    const height = this.db.prepare('SELECT height FROM devnet_txs WHERE txid = ?')
    const children = this.db.prepare('SELECT DISTINCT spent_by AS txid FROM devnet_outputs WHERE txid = ? AND spent_by IS NOT NULL')
    const unspend = this.db.prepare('UPDATE devnet_outputs SET spent_by = NULL WHERE spent_by = ?')
    const dropOutputs = this.db.prepare('DELETE FROM devnet_outputs WHERE txid = ?')
    const dropTx = this.db.prepare('DELETE FROM devnet_txs WHERE txid = ?')
    this.db.transaction(() => {
      const queue = [...txids]
      while (queue.length > 0) {
        const txid = queue.shift()!
        const row = height.get(txid) as { height: number | null } | undefined
        if (!row || row.height !== null || dropped.includes(txid)) continue
        for (const child of children.all(txid) as { txid: string }[]) queue.push(child.txid)
        unspend.run(txid)
        dropOutputs.run(txid)
        dropTx.run(txid)
        dropped.push(txid)
      }
    })()
    return dropped
  }

  /** The mempool transactions that spend any input of `tx` (what accepting it would replace). */
  conflicts(tx: Transaction): string[] {
    const spent = this.db.prepare('SELECT spent_by AS spentBy FROM devnet_outputs WHERE txid = ? AND vout = ?')
    const out = new Set<string>()
    for (const input of tx.inputs) {
      const row = spent.get(input.sourceTXID, input.sourceOutputIndex) as { spentBy: string | null } | undefined
      if (row?.spentBy) out.add(row.spentBy)
    }
    return [...out]
  }

  mempoolSize(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM devnet_txs WHERE height IS NULL').get() as { n: number }).n
  }

  /** Record a validated transaction in the mempool, atomically; a race that lost its inputs is a double spend. */
  accept(v: Validated): void {
    const raw = Buffer.from(v.tx.toBinary())
    const spend = this.db.prepare('UPDATE devnet_outputs SET spent_by = ? WHERE txid = ? AND vout = ? AND spent_by IS NULL')
    const insertOut = this.db.prepare('INSERT INTO devnet_outputs (txid, vout, satoshis, script, pkh) VALUES (?, ?, ?, ?, ?)')
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO devnet_txs (txid, raw, height, accepted_at) VALUES (?, ?, NULL, ?)').run(v.txid, raw, Date.now())
      for (const input of v.tx.inputs) {
        if (spend.run(v.txid, input.sourceTXID, input.sourceOutputIndex).changes !== 1) {
          throw new DevnetRejection('double-spend', `${input.sourceTXID}:${input.sourceOutputIndex} was spent meanwhile`)
        }
      }
      v.tx.outputs.forEach((out, vout) => {
        const script = Uint8Array.from(out.lockingScript.toBinary())
        insertOut.run(v.txid, vout, out.satoshis ?? 0, Buffer.from(script), p2pkhHash(script))
      })
    })()
  }

  /** Mine `count` blocks; the first takes the whole mempool. */
  mine(count: number): { height: number; hashes: string[] } {
    const hashes: string[] = []
    this.db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const prev = this.tip()
        const height = (prev?.height ?? -1) + 1
        const hash = createHash('sha256')
          .update(`${prev?.hash ?? ''}:${height}:`)
          .update(randomBytes(16))
          .digest('hex')
        this.db.prepare('INSERT INTO devnet_blocks (height, hash, time) VALUES (?, ?, ?)').run(height, hash, Math.floor(Date.now() / 1000))
        this.db.prepare('UPDATE devnet_txs SET height = ? WHERE height IS NULL').run(height)
        hashes.push(hash)
      }
    })()
    return { height: this.height, hashes }
  }

  /** Block 0 with one coinbase output to the faucet. */
  private genesis(): void {
    const coinbase = new Transaction()
    coinbase.addInput({
      sourceTXID: '00'.repeat(32),
      sourceOutputIndex: 0xffffffff,
      unlockingScript: UnlockingScript.fromHex(`1d${Buffer.from('bsv-p2p-wallet devnet genesis').toString('hex')}`),
      sequence: 0xffffffff,
    })
    coinbase.addOutput({ lockingScript: new P2PKH().lock(FAUCET_KEY.toAddress([0x6f])), satoshis: GENESIS_REWARD })
    const raw = Buffer.from(coinbase.toBinary())
    const txid = coinbase.id('hex')
    const script = Uint8Array.from(coinbase.outputs[0]!.lockingScript.toBinary())
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO devnet_txs (txid, raw, height, accepted_at) VALUES (?, ?, NULL, ?)').run(txid, raw, Date.now())
      this.db.prepare('INSERT INTO devnet_outputs (txid, vout, satoshis, script, pkh) VALUES (?, 0, ?, ?, ?)').run(txid, GENESIS_REWARD, Buffer.from(script), p2pkhHash(script))
      this.mine(1)
    })()
  }
}
