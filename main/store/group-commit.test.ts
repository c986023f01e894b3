import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { GroupCommit, Store } from './index.js'

const migrations = [{ id: 't-001', up: 'CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT;' }]

describe('GroupCommit', () => {
  let dir = ''
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('commits a batch in one transaction, and a write that fails fails alone (its partial changes undone)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bsv-group-commit-'))
    const store = new Store({ dataDir: dir, migrations })
    await store.start()
    const batches: number[] = []
    const commit = new GroupCommit(store, (n) => batches.push(n))
    const insert = (k: string, v: number) => () => store.db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v).changes
    const outcomes = await Promise.allSettled([
      commit.run(insert('a', 1)),
      // Writes one row, then breaks a constraint: the row must not survive.
      commit.run(() => {
        insert('half', 2)()
        return insert('a', 3)()
      }),
      commit.run(insert('b', 4)),
    ])
    expect(batches).toEqual([3])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/)
    await store.stop()

    // What is on disk after a reopen.
    const again = new Store({ dataDir: dir, migrations })
    await again.start()
    expect(again.db.prepare('SELECT k, v FROM t ORDER BY k').all()).toEqual([
      { k: 'a', v: 1 },
      { k: 'b', v: 4 },
    ])
    await again.stop()
  })
})
