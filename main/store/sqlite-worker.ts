// The entry of SqliteWorkerJobs' worker thread: one job (its workerData), one answer, then the
// thread ends. Every failure is an answer, so the engine's side tells a failed job from a
// worker that could not start.
import { parentPort, workerData } from 'node:worker_threads'
import { type SqliteJob, runSqliteJob } from './sqlite-jobs.js'

const port = parentPort
if (port) {
  runSqliteJob(workerData as SqliteJob).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) => {
      const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown }
      port.postMessage({ ok: false, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined, stack: typeof e?.stack === 'string' ? e.stack : undefined } })
    },
  )
}
