import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { GroupCommit, Store } from './index.js'

const rethrow = (err: unknown): never => {
  throw err
}

const migrations = [{ id: 't-001', up: 'CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT;' }]

describe('GroupCommit', () => {
  let dir = ''
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  async function openStore(): Promise<Store> {
    dir = mkdtempSync(join(tmpdir(), 'bsv-group-commit-'))
    const store = new Store({ dataDir: dir, migrations })
    await store.start()
    return store
  }

  it('commits a batch in one transaction, and a write that fails fails alone (its partial changes undone)', async () => {
    const store = await openStore()
    const batches: number[] = []
    const commit = new GroupCommit(store, { onBatch: (n) => batches.push(n), onCallbackError: rethrow })
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

  it('a write that may wait joins the next batch another write starts, or commits alone after its delay', async () => {
    const store = await openStore()
    const batches: number[] = []
    const commit = new GroupCommit(store, { onBatch: (n) => batches.push(n), onCallbackError: rethrow })
    const insert = (k: string) => () => store.db.prepare('INSERT INTO t (k, v) VALUES (?, 0)').run(k)
    const done: string[] = []
    commit.later(insert('lazy-1'), (err) => done.push(err ? 'failed' : 'lazy-1'), 60_000)
    await commit.run(insert('eager'))
    // One transaction for both: the lazy write cost no commit of its own.
    expect(batches).toEqual([2])
    expect(done).toEqual(['lazy-1'])
    // Alone, it waits no longer than its delay.
    const started = Date.now()
    await new Promise<void>((resolve) => commit.later(insert('lazy-2'), () => resolve(), 30))
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(batches).toEqual([2, 1])
    // A flush (as at stop) takes it too.
    commit.later(insert('lazy-3'), () => {}, 60_000)
    expect(commit.queued).toBe(1)
    commit.flush()
    expect(commit.queued).toBe(0)
    expect((store.db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k)).toEqual(['eager', 'lazy-1', 'lazy-2', 'lazy-3'])
    await store.stop()
  })

  it('a write\'s callback that throws is reported, and the batch\'s other callbacks still run', async () => {
    const store = await openStore()
    const reported: unknown[] = []
    const commit = new GroupCommit(store, { onCallbackError: (err) => reported.push(err) })
    const heard: string[] = []
    commit.enqueue(() => 1, () => {
      throw new Error('a broken owner')
    })
    commit.enqueue(() => 2, (err) => heard.push(err ? 'failed' : 'second'))
    commit.flush()
    expect(reported).toEqual([new Error('a broken owner')])
    expect(heard).toEqual(['second'])
    await store.stop()
  })
})
