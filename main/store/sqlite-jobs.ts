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
  /** `source`'s pages as of one read transaction into `target` (a new file), made a plain rollback-journal file, checked (`quick_check`) and flushed to disk. */
  | { kind: 'backup'; source: string; target: string; nativeBinding?: string }
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

export async function runSqliteJob(job: SqliteJob): Promise<SqliteJobResult> {
  const started = performance.now()
  const binding = job.nativeBinding === undefined ? {} : { nativeBinding: job.nativeBinding }
  if (job.kind === 'backup') {
    const source = openSqlite(job.source, { readonly: true, fileMustExist: true, ...binding })
    try {
      // A backup from a connection other than the writer's starts over whenever the writer
      // commits between two steps: its first step copies nothing, its second everything, as
      // of one snapshot (the writer goes on meanwhile; WAL readers do not block it).
      await source.backup(job.target, { progress: () => ALL_PAGES })
    } finally {
      source.close()
    }
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
  if (job.kind !== 'check') syncFile(file)
  return { report, ms: Math.round(performance.now() - started) }
}
