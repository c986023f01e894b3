import { type ReactElement, useCallback } from 'react'
import { bytes } from '../../human.js'
import { useApp } from '../app-context.js'
import { useAction } from '../use-action.js'

/** Back the database up now; where backups live and how to restore one. */
export function BackupCard({ dataDir }: { dataDir: string }): ReactElement {
  const { connection } = useApp()
  const backup = useCallback(() => connection.api.backupDatabase({}), [connection])
  const action = useAction(backup)
  return (
    <section className="card" aria-labelledby="backups-title">
      <h3 id="backups-title" className="section-title">
        Database backups
      </h3>
      <p className="field-help">
        The node backs its database up every hour and whenever it stops, keeping the newest in <span className="mono">{dataDir}/backups</span>. To restore one, stop
        the node and run it once with <span className="mono">--restore-backup</span> and the backup&rsquo;s file.
      </p>
      <button type="button" className="secondary" disabled={action.pending} onClick={() => void action.run()} data-testid="backup-now">
        {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
        {action.pending ? 'Backing up…' : 'Back up now'}
      </button>
      {action.error ? (
        <p className="field-error" role="alert" data-testid="backup-result">
          {action.error}
        </p>
      ) : action.result ? (
        <p className="field-help" role="status" data-testid="backup-result">
          Backed up ({bytes(action.result.bytes)}) to <span className="mono">{action.result.file}</span>.
        </p>
      ) : null}
    </section>
  )
}
