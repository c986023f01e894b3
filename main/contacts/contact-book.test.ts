// Contacts on a real SQLite file in a temp dir, through the contract's dispatch (so the
// params are checked as any transport checks them): saved before answered, emitted whole,
// kept across a restart, bounded.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../shared/contract/dispatch.js'
import type { ApiHandlers, Contact } from '../../shared/contract/index.js'
import { EventBus } from '../kit/index.js'
import { IdempotencyLedger, idempotencyMigrations, keyedHandlers } from '../idempotency/index.js'
import { Store } from '../store/index.js'
import { Metrics, silentLogger } from '../telemetry/index.js'
import { ContactBook } from './contact-book.js'
import { contactHandlers } from './handlers.js'
import { contactMigrations } from './migrations.js'

const B = '12D3KooWJbR3Y7d4GJ5QyW8dLqVvXgX6tMeVg8D1q6pY2CnctpQm'
const C = '12D3KooWA8EXV3KjBxEU5EnsPfneLx84vMWAtTBQBeyooN82KSuS'

describe('ContactBook', () => {
  let dir: string
  let store: Store
  let book: ContactBook
  let ledger: IdempotencyLedger
  let events: EventBus
  let emitted: Contact[][]
  let call: (method: string, params: unknown) => Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string; details?: Record<string, unknown> } }>

  const open = async (maxContacts?: number): Promise<void> => {
    store = new Store({ dataDir: dir, migrations: [...idempotencyMigrations, ...contactMigrations] })
    book = new ContactBook({ store, events, logger: silentLogger }, maxContacts === undefined ? {} : { maxContacts })
    ledger = new IdempotencyLedger({ store, logger: silentLogger, metrics: new Metrics() })
    await store.start()
    await ledger.start()
    await book.start()
    const handlers = keyedHandlers(ledger, contactHandlers(book) as never) as unknown as ApiHandlers
    call = async (method, params) =>
      (await dispatch(handlers, method, params, {
        onUnexpected: (_method, err) => {
          throw err
        },
      })) as never
  }
  const close = async (): Promise<void> => {
    await book.stop()
    await ledger.stop()
    await store.stop()
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bsv-contacts-'))
    events = new EventBus({ checkPayloads: true })
    emitted = []
    events.on('contacts', (list) => emitted.push(list))
    await open()
  })

  afterEach(async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('names a peer, trimmed, emits the whole list, and keeps it across a restart', async () => {
    const set = await call('setContact', { peerId: B, name: '  Bob’s shop  ' })
    expect(set).toMatchObject({ ok: true, result: { peerId: B, name: 'Bob’s shop' } })
    expect(emitted.at(-1)).toEqual([set.result])
    await call('setContact', { peerId: C, name: 'Alice' })
    expect(emitted.at(-1)?.map((c) => c.name)).toEqual(['Alice', 'Bob’s shop'])
    expect(book.nameOf(B)).toBe('Bob’s shop')

    await close()
    await open()
    expect((await call('listContacts', {})).result).toEqual(emitted.at(-1))
  })

  it('renames in place; the same name again writes and emits nothing', async () => {
    await call('setContact', { peerId: B, name: 'Bob' })
    const first = emitted.length
    const again = await call('setContact', { peerId: B, name: 'Bob' })
    expect(emitted.length).toBe(first)
    expect(again.result).toEqual(book.list()[0])
    await call('setContact', { peerId: B, name: 'Robert' })
    expect(book.list()).toEqual([expect.objectContaining({ peerId: B, name: 'Robert' })])
  })

  it('removes idempotently: the second remove says false and emits nothing', async () => {
    await call('setContact', { peerId: B, name: 'Bob' })
    expect((await call('removeContact', { peerId: B })).result).toEqual({ removed: true })
    expect(emitted.at(-1)).toEqual([])
    const count = emitted.length
    expect((await call('removeContact', { peerId: B })).result).toEqual({ removed: false })
    expect(emitted.length).toBe(count)
    await close()
    await open()
    expect(book.list()).toEqual([])
  })

  it('refuses bad params with invalid_params, changing nothing', async () => {
    const bad: unknown[] = [
      { peerId: B, name: '' },
      { peerId: B, name: '    ' },
      { peerId: B, name: 'x'.repeat(65) },
      { peerId: B, name: 'line\nbreak' },
      { peerId: B, name: 'nul\u0000' },
      { peerId: B, name: 'evil\u202Eoverride' },
      { peerId: 'not a peer id', name: 'Bob' },
      { peerId: B },
      { peerId: B, name: 'Bob', extra: true },
      { peerId: B, name: 42 },
    ]
    for (const params of bad) {
      const res = await call('setContact', params)
      expect([params, res.ok, res.error?.code]).toEqual([params, false, 'invalid_params'])
    }
    expect((await call('removeContact', { peerId: 'nope' })).error?.code).toBe('invalid_params')
    expect(book.list()).toEqual([])
    expect(emitted).toEqual([])
  })

  it('takes 64 characters, emoji sequences, and normalises to NFC', async () => {
    expect((await call('setContact', { peerId: B, name: 'y'.repeat(64) })).ok).toBe(true)
    expect((await call('setContact', { peerId: C, name: '👩‍💻 Cafe\u0301' })).result).toMatchObject({ name: '👩‍💻 Café' })
  })

  it('refuses a new contact beyond the cap with a typed error, but still renames and removes', async () => {
    await close()
    await open(2)
    await call('setContact', { peerId: B, name: 'Bob' })
    await call('setContact', { peerId: C, name: 'Carol' })
    const third = await call('setContact', { peerId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', name: 'Dan' })
    expect(third.error).toMatchObject({ code: 'invalid_state', details: { reason: 'contact-limit', limit: 2 } })
    expect((await call('setContact', { peerId: B, name: 'Bobby' })).ok).toBe(true)
    await call('removeContact', { peerId: C })
    expect((await call('setContact', { peerId: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', name: 'Dan' })).ok).toBe(true)
    expect(book.size).toBe(2)
  })

  it('answers a retried call with the same idempotency key from the ledger', async () => {
    const key = 'contact-key-0001'
    const first = await call('setContact', { peerId: B, name: 'Bob', idempotencyKey: key })
    const again = await call('setContact', { peerId: B, name: 'Bob', idempotencyKey: key })
    expect(again).toEqual(first)
    expect((await call('setContact', { peerId: B, name: 'Other', idempotencyKey: key })).error?.code).toBe('conflict')
  })

  it('ignores stored rows that break the rules, and refuses calls once stopped', async () => {
    store.db.prepare('INSERT INTO contacts (peer_id, name, updated_at) VALUES (?, ?, ?)').run(B, 'bad\u0007name', Date.now())
    store.db.prepare('INSERT INTO contacts (peer_id, name, updated_at) VALUES (?, ?, ?)').run(C, 'Carol', Date.now())
    await book.stop()
    await book.start()
    expect(book.list().map((c) => c.name)).toEqual(['Carol'])
    await book.stop()
    expect(() => book.set(B, 'Bob')).toThrow(expect.objectContaining({ code: 'unavailable' }))
    await book.start()
  })
})
