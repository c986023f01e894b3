import { copyFileSync } from 'node:fs'
import { syncFile } from './atomic-file.js'
import { checkIntegrity, type IntegrityReport } from './integrity.js'
import { openSqlite } from './sqlite.js'

/**
 * The long reads of a whole database file: a backup and its check, and the on-demand check
 * of the live database. Each is one long SQLite call that would hold the engine's thread for
 * about a millisecond per MiB (a second for a month of a busy wallet), so they run here, on a
 * connection of their own in a worker thread (SqliteWorkerJobs), never on the engine's connection.
 */
export type SqliteJob =
  /**
   * `source`'s pages as of one read transaction into `target` (a new file), made a plain
   * rollback-journal file, checked (`quick_check`) and flushed to disk. With `pagesPerStep`
   * it copies that many pages a step and can be cancelled between steps (`cancel`); only
   * while nothing else writes to `source`, since every commit in between starts it over.
   */
  | { kind: 'backup'; source: string; target: string; nativeBinding?: string; pagesPerStep?: number; cancel?: SharedArrayBuffer }
  /** A backup file `source` copied to `target`, checked and flushed. */
  | { kind: 'copy'; source: string; target: string; nativeBinding?: string }
  /** `file` checked from a read-only connection. */
  | { kind: 'check'; file: string; mode: 'quick' | 'full'; nativeBinding?: string }

export interface SqliteJobResult {
  report: IntegrityReport
  /** The job's own time, measured where it ran. */
  ms: number
}

/** The most pages SQLite's backup step takes: all of them, in one read transaction. */
const ALL_PAGES = 0x7fffffff

/** A job given up on when asked (its `cancel` flag set): what it wrote is left for its caller to remove. */
export class SqliteJobCancelled extends Error {
  override readonly name = 'SqliteJobCancelled'
  readonly code = 'CANCELLED'
}

/** A flag another thread sets to cancel a job between its steps. */
export function cancelFlag(): SharedArrayBuffer {
  return new SharedArrayBuffer(4)
}

export function setCancelled(flag: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(flag), 0, 1)
}

function throwIfCancelled(flag: SharedArrayBuffer | undefined): void {
  if (flag && Atomics.load(new Int32Array(flag), 0) === 1) throw new SqliteJobCancelled('the job was cancelled')
}

export async function runSqliteJob(job: SqliteJob): Promise<SqliteJobResult> {
  const started = performance.now()
  const binding = job.nativeBinding === undefined ? {} : { nativeBinding: job.nativeBinding }
  if (job.kind === 'backup') {
    const source = openSqlite(job.source, { readonly: true, fileMustExist: true, ...binding })
    try {
      // A backup from a connection other than the writer's starts over whenever the writer
      // commits between two steps: its first step copies nothing, its second everything, as
      // of one snapshot (the writer goes on meanwhile; WAL readers do not block it). Only a
      // backup nothing writes beside (the stop's) copies in steps, to be cancellable.
      const step = job.pagesPerStep ?? ALL_PAGES
      await source.backup(job.target, {
        progress: () => {
          throwIfCancelled(job.cancel)
          return step
        },
      })
    } finally {
      source.close()
    }
    // The check below is one call that cannot be cut: a cancel that came during the copy ends it here.
    throwIfCancelled(job.cancel)
  } else if (job.kind === 'copy') copyFileSync(job.source, job.target)
  const file = job.kind === 'check' ? job.file : job.target
  const db = openSqlite(file, { readonly: job.kind !== 'backup', fileMustExist: true, ...binding })
  let report: IntegrityReport
  try {
    // A plain rollback-journal file: it opens alone, with no -wal or -shm beside it.
    if (job.kind === 'backup') db.pragma('journal_mode = DELETE')
    report = checkIntegrity(db, job.kind === 'check' ? job.mode : 'quick')
  } finally {
    db.close()
  }
  // A cancel during the check ends it here, before the flush: on a slow disk that may take as long as the copy.
  if (job.kind === 'backup') throwIfCancelled(job.cancel)
  if (job.kind !== 'check') syncFile(file)
  return { report, ms: Math.round(performance.now() - started) }
}
