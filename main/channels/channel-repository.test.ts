import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Store } from '../store/index.js'
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
})
