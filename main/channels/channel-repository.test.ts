import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Store, migrate, openDatabase } from '../store/index.js'
import { walletMigrations } from '../wallet/migrations.js'
import { channelMigrations } from './migrations.js'

describe('channel payments table', () => {
  let dir = ''
  let store: Store | undefined
  afterEach(async () => {
    await store?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('marks acks through the unacknowledged-only index, so an ack never scans the channel’s history', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bsv-chan-repo-'))
    store = new Store({ dataDir: dir, migrations: [...walletMigrations, ...channelMigrations] })
    await store.start()
    // The statement ChannelRepository.markAcked runs.
    const plan = store.db
      .prepare("EXPLAIN QUERY PLAN UPDATE channel_payments SET status = 'acked' WHERE channel_id = ? AND seq <= ? AND status = 'sent'")
      .all('c', 10) as { detail: string }[]
    expect(plan.map((r) => r.detail).join('\n')).toMatch(/USING INDEX channel_payments_unacked/)
  })

  it('keeps every payment across channels-006, where a payment a later settlement covers holds no signature', () => {
    dir = mkdtempSync(join(tmpdir(), 'bsv-chan-repo-'))
    const db = openDatabase(dir)
    try {
      const all = [...walletMigrations, ...channelMigrations]
      migrate(db, all.filter((m) => m.id !== 'channels-006-coalesced-payments'))
      db.prepare(
        `INSERT INTO channels (id, peer_id, role, state, capacity_sats, expiry, fee_rate, settlement_fee_sats, refund_fee_sats, key_index, payer_pub, created_at, updated_at)
         VALUES (?, 'peer', 'payee', 'proposed', 1000, 100, 1, 1, 1, 0, '02ab', 1, 1)`,
      ).run('a'.repeat(32))
      const insert = db.prepare("INSERT INTO channel_payments (channel_id, seq, sats, paid_sats, sig, memo, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'acked', 1)")
      insert.run('a'.repeat(32), 1, 5, 5, 'ab', 'm')
      expect(() => insert.run('a'.repeat(32), 2, 5, 10, null, null)).toThrow(/NOT NULL/)
      expect(migrate(db, all)).toEqual(['channels-006-coalesced-payments'])
      insert.run('a'.repeat(32), 2, 5, 10, null, null)
      insert.run('a'.repeat(32), 3, 5, 15, 'cd', null)
      expect(() => insert.run('a'.repeat(32), 4, 5, 20, '', null)).toThrow(/CHECK/)
      expect(db.prepare('SELECT seq, sats, paid_sats AS paid, sig, memo FROM channel_payments ORDER BY seq').all()).toEqual([
        { seq: 1, sats: 5, paid: 5, sig: 'ab', memo: 'm' },
        { seq: 2, sats: 5, paid: 10, sig: null, memo: null },
        { seq: 3, sats: 5, paid: 15, sig: 'cd', memo: null },
      ])
      const plan = db.prepare("EXPLAIN QUERY PLAN UPDATE channel_payments SET status = 'acked' WHERE channel_id = ? AND seq <= ? AND status = 'sent'").all('c', 10) as { detail: string }[]
      expect(plan.map((r) => r.detail).join('\n')).toMatch(/USING INDEX channel_payments_unacked/)
    } finally {
      db.close()
    }
  })
})
