// The engine's one connection as openDatabase makes it: WAL, every commit flushed, foreign
// keys enforced, and a page cache of the size it is given.
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/processes.js'
import { type Db, openDatabase } from './database.js'

const open: Db[] = []
const dirs: { remove: () => void }[] = []
afterEach(() => {
  for (const db of open.splice(0)) db.close()
  for (const d of dirs.splice(0)) d.remove()
})

function opened(cacheMiB?: number): Db {
  const dir = tempDir('bsv-p2p-db-')
  dirs.push(dir)
  const db = openDatabase(dir.path, cacheMiB === undefined ? {} : { cacheMiB })
  open.push(db)
  return db
}

describe('openDatabase', () => {
  it('opens in WAL with synchronous=FULL and foreign keys on', () => {
    const db = opened()
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('synchronous', { simple: true })).toBe(2)
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
  })

  it('keeps a page cache of the size it is given, or better-sqlite3’s 16 MiB (about 16,000 KiB)', () => {
    expect(opened().pragma('cache_size', { simple: true })).toBe(-16_000)
    expect(opened(2).pragma('cache_size', { simple: true })).toBe(-2048)
  })
})
