import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../telemetry/index.js'
import { type SqliteJob, SqliteJobCancelled, type SqliteJobResult, cancelFlag, setCancelled } from './sqlite-jobs.js'

/** Where the worker's code is, and whether it is TypeScript (run through tsx, as in the tests). */
export interface WorkerEntry {
  url: URL
  typescript: boolean
}

/**
 * From the sources, the TypeScript entry beside this file; from a bundle (the hosts'
 * dist/<host>/cli.bundle.cjs, the app's dist/electron/app.js), the worker bundle the build
 * writes beside it. Inside the desktop app's archive a worker cannot load, so it is read from
 * the unpacked copy electron-builder keeps beside the archive.
 */
function defaultWorkerEntry(): WorkerEntry {
  const here = import.meta.url
  if (here.endsWith('.ts')) return { url: new URL('./sqlite-worker.ts', here), typescript: true }
  return { url: new URL('./sqlite-worker.cjs', here.replace(/\/app\.asar\//, '/app.asar.unpacked/')), typescript: false }
}

type Answer = { ok: true; result: SqliteJobResult } | { ok: false; error: { name: string; message: string; code?: string; stack?: string } }

/**
 * Runs SqliteJob's long reads (backups, whole-file checks) in a worker thread of their own,
 * one thread per job, so the engine's thread keeps serving payments meanwhile. One job runs
 * at a time, the others wait their turn in order: each reads a whole database, and two at
 * once would only share the disk and the second core. `run` answers null when no worker
 * could run the job (its code missing, threads refused): the caller then does the work on
 * its own thread as before, slower but never skipped, and the first such failure is a
 * warning in the log.
 */
export class SqliteWorkerJobs {
  private warned = false
  private turn: Promise<unknown> = Promise.resolve()
  private live = 0

  constructor(
    private readonly components: { logger: Logger },
    private readonly entry: WorkerEntry | null = defaultWorkerEntry(),
  ) {}

  /** Workers running now (at most one). */
  get running(): number {
    return this.live
  }

  /**
   * `signal` cancels a backup job: one still waiting its turn is answered at once and never
   * starts; a running one stops at the end of its step (`pagesPerStep`), after its copy or
   * after its check. Either way the answer is a SqliteJobCancelled.
   */
  run(job: SqliteJob, signal?: AbortSignal): Promise<SqliteJobResult | null> {
    let begun = false
    const result = this.turn.then(() => {
      begun = true
      return this.runNow(job, signal)
    })
    this.turn = result.catch(() => {})
    if (!signal) return result
    // Cancelled while it waits behind another job (a long check): answered at once, and
    // passed over when its turn comes. Once begun, it ends at its next step.
    return new Promise<SqliteJobResult | null>((resolve, reject) => {
      const onAbort = (): void => {
        if (!begun) reject(new SqliteJobCancelled('the job was cancelled while waiting its turn'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      if (signal.aborted) onAbort()
      result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  private async runNow(job: SqliteJob, signal: AbortSignal | undefined): Promise<SqliteJobResult | null> {
    if (signal?.aborted) throw new SqliteJobCancelled('the job was cancelled before its turn')
    let onAbort: (() => void) | null = null
    if (signal && job.kind === 'backup') {
      const flag = cancelFlag()
      job = { ...job, cancel: flag }
      onAbort = () => setCancelled(flag)
      signal.addEventListener('abort', onAbort, { once: true })
    }
    this.live++
    try {
      return await this.inWorker(job)
    } finally {
      this.live--
      if (onAbort) signal?.removeEventListener('abort', onAbort)
    }
  }

  private inWorker(job: SqliteJob): Promise<SqliteJobResult | null> {
    if (!this.entry) return Promise.resolve(null)
    let worker: Worker
    try {
      worker = this.spawn(this.entry, job)
    } catch (err) {
      this.unavailable(err)
      return Promise.resolve(null)
    }
    return new Promise<SqliteJobResult | null>((resolve, reject) => {
      let answered = false
      worker.once('message', (answer: Answer) => {
        answered = true
        void worker.terminate()
        if (answer.ok) resolve(answer.result)
        else reject(rebuild(answer.error))
      })
      worker.once('error', (err) => {
        if (answered) return
        answered = true
        this.unavailable(err)
        resolve(null)
      })
      worker.once('exit', (code) => {
        if (answered) return
        answered = true
        this.unavailable(new Error(`the SQLite worker exited with code ${code} before answering`))
        resolve(null)
      })
    })
  }

  private spawn(entry: WorkerEntry, job: SqliteJob): Worker {
    if (!entry.typescript) return new Worker(entry.url, { workerData: job })
    // A worker does not inherit tsx's loader on Node 20: it registers it before loading the entry.
    const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.url.href)}) })`, { eval: true, workerData: job })
  }

  private unavailable(err: unknown): void {
    const fields = { err, entry: this.entry?.url.href }
    if (this.warned) {
      this.components.logger.debug('a SQLite job runs on the engine thread: its worker could not run', fields)
      return
    }
    this.warned = true
    this.components.logger.warn('backups and database checks run on the engine thread (pausing it for their length): their worker thread could not run', fields)
  }
}

function rebuild(e: { name: string; message: string; code?: string; stack?: string }): Error {
  if (e.code === 'CANCELLED') return Object.assign(new SqliteJobCancelled(e.message), e.stack === undefined ? {} : { stack: e.stack })
  const err = new Error(e.message) as Error & { code?: string }
  err.name = e.name
  if (e.code !== undefined) err.code = e.code
  if (e.stack !== undefined) err.stack = e.stack
  return err
}
