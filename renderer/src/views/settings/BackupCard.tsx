import { type ChangeEvent, type FormEvent, type ReactElement, type ReactNode, useCallback, useId, useRef, useState } from 'react'
import { CHANNEL_FILE_NAME, EXPORT_DIR_EXAMPLE, FileUnreadableError, RESTORE_CONFIRM, bytesToBase64, exportDirProblem, exportErrorText, exportSummary, restoreErrorText, restoreFileProblem, restoreSummary, type Words } from '../../backup-text.js'
import { bytes } from '../../human.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { useApp } from '../app-context.js'
import { useAction } from '../use-action.js'

/**
 * Backups in one place: back the database up now, export a backup and the channel file to
 * another folder, and restore channels from that file; where backups live and how each
 * one comes back.
 */
export function BackupCard({ dataDir }: { dataDir: string }): ReactElement {
  const { connection } = useApp()
  const backup = useCallback(() => connection.api.backupDatabase({}), [connection])
  const action = useAction(backup)
  return (
    <section className="card" aria-labelledby="backups-title">
      <h3 id="backups-title" className="section-title">
        Backups
      </h3>
      <p className="field-help">
        The node backs its database up every hour and whenever it stops, keeping the newest in <span className="mono">{dataDir}/backups</span>, beside the channel backup file{' '}
        <span className="mono">{CHANNEL_FILE_NAME}</span>. To restore the database, stop the node and run it once with <span className="mono">--restore-backup</span> and the backup&rsquo;s file.
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

      <CheckDatabase />
      <ExportBackup />
      <RestoreChannels />
    </section>
  )
}

/** SQLite's thorough check of the running database, on demand. */
function CheckDatabase(): ReactElement {
  const { connection } = useApp()
  const check = useCallback(() => connection.api.checkDatabase({}), [connection])
  const action = useAction(check)
  const id = useId()
  return (
    <section className="backup-part" aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>Check the database</h4>
      <p className="field-help backup-intro">Reads every page, record and index of the database for damage (a failing disk): about a second for each 130 MB. The node goes on working meanwhile.</p>
      <button type="button" className="secondary" disabled={action.pending} onClick={() => void action.run()} data-testid="check-database">
        {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
        {action.pending ? 'Checking…' : 'Check now'}
      </button>
      {action.error ? (
        <p className="field-error" role="alert" data-testid="check-database-result">
          {action.error}
        </p>
      ) : action.result?.ok ? (
        <p className="field-help" role="status" data-testid="check-database-result">
          No damage found ({action.result.ms} ms).
        </p>
      ) : action.result ? (
        <div className="field-error" role="alert" data-testid="check-database-result">
          <p>
            The database is damaged. Back up what you can, stop the node, and restore the newest backup with <span className="mono">--restore-backup</span>. SQLite found:
          </p>
          <ul>
            {action.result.problems.map((p, i) => (
              <li key={i} className="mono">
                {p}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  )
}

/** Words with their code parts (paths, flags) set in the monospace face. */
function words(parts: Words): ReactNode[] {
  return parts.map((w, i) => (typeof w === 'string' ? w : <span key={i} className="mono">{w.code}</span>))
}

/** A fresh database backup and the channel file, written into a folder the person names (another disk). */
function ExportBackup(): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [dir, setDir] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const sent = useRef('')
  const [exportingTo, setExportingTo] = useState('')
  const exportTo = useCallback((folder: string) => connection.api.exportBackup({ dir: folder }), [connection])
  const describe = useCallback((err: unknown) => exportErrorText(err, sent.current), [])
  const action = useAction(exportTo, describe)

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    if (action.pending) return
    const why = exportDirProblem(dir)
    setProblem(why)
    if (why) {
      action.reset()
      return
    }
    sent.current = dir.trim()
    setExportingTo(sent.current)
    void action.run(sent.current)
  }

  const failure = problem ?? action.error
  const summary = action.result ? exportSummary(action.result) : null
  return (
    <form className="backup-part" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>Export backup…</h4>
      <p className="field-help backup-intro">
        Writes a fresh, checked copy of the database and the channel backup file into a folder on the computer the node runs on: another disk or a USB stick, so a lost disk loses nothing.
      </p>
      <label htmlFor={`${id}-dir`}>Folder (its full path)</label>
      <div className="input-with-button">
        <input
          id={`${id}-dir`}
          className="mono-input"
          value={dir}
          placeholder={`e.g. ${EXPORT_DIR_EXAMPLE}`}
          autoComplete="off"
          spellCheck={false}
          disabled={action.pending}
          aria-invalid={failure ? true : undefined}
          aria-describedby={`${id}-result`}
          data-testid="export-dir"
          onChange={(e) => {
            setDir(e.target.value)
            setProblem(null)
            if (!action.pending) action.reset()
          }}
        />
        <button type="submit" className="secondary" disabled={action.pending} data-testid="export-backup">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          Export
        </button>
      </div>
      <div id={`${id}-result`}>
        {action.pending ? (
          <p className="field-help" role="status" data-testid="export-result">
            Exporting… a fresh database backup, then the channel file, into <span className="mono">{exportingTo}</span>.
          </p>
        ) : failure ? (
          <p className="field-error" role="alert" data-testid="export-result">
            {failure}
          </p>
        ) : summary ? (
          <div className="backup-outcome" role="status" data-testid="export-result">
            <p>{words(summary.database)}</p>
            <p>{words(summary.channels)}</p>
            <p className="backup-keep">{summary.keepSafe}</p>
          </div>
        ) : null}
      </div>
    </form>
  )
}

/** The channel backup file, read here and sent to the node, after a confirmation that says what restoring does. */
function RestoreChannels(): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [file, setFile] = useState<File | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [confirming, setConfirming] = useState(false)
  // A new key empties the file input once its file is restored.
  const [inputKey, setInputKey] = useState(0)
  const restore = useCallback(
    async (chosen: File) => {
      let data: Uint8Array
      try {
        data = new Uint8Array(await chosen.arrayBuffer())
      } catch (err) {
        throw new FileUnreadableError(chosen.name, { cause: err })
      }
      return connection.api.restoreChannelBackup({ data: bytesToBase64(data) })
    },
    [connection],
  )
  const action = useAction(restore, restoreErrorText)

  const choose = (e: ChangeEvent<HTMLInputElement>): void => {
    const chosen = e.target.files?.[0] ?? null
    action.reset()
    setFile(chosen)
    setProblem(chosen ? restoreFileProblem(chosen) : null)
  }

  const confirm = async (): Promise<void> => {
    setConfirming(false)
    if (!file || action.pending) return
    const why = restoreFileProblem(file)
    setProblem(why)
    if (why) return
    if (await action.run(file)) {
      setFile(null)
      setInputKey((k) => k + 1)
    }
  }

  const failure = problem ?? action.error
  return (
    <div className="backup-part" role="group" aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>Restore channels from a file</h4>
      <p className="field-help backup-intro">
        On a new computer, restore the wallet from its recovery words first, then choose the <span className="mono">{CHANNEL_FILE_NAME}</span> file from a backup folder: the channels this wallet
        lacks come back and are closed out on chain, so their money returns to the wallet without the other side&rsquo;s help.
      </p>
      <label htmlFor={`${id}-file`}>Channel backup file</label>
      <div className="input-with-button">
        <input
          key={inputKey}
          id={`${id}-file`}
          type="file"
          accept=".bsvchan"
          disabled={action.pending}
          aria-invalid={problem ? true : undefined}
          aria-describedby={`${id}-result`}
          data-testid="restore-channels-file"
          onChange={choose}
        />
        <button type="button" className="secondary" disabled={!file || problem !== null || action.pending} onClick={() => setConfirming(true)} data-testid="restore-channels">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          Restore channels…
        </button>
      </div>
      <div id={`${id}-result`}>
        {action.pending ? (
          <p className="field-help" role="status" data-testid="restore-channels-result">
            Restoring… reading the file and handing it to the node.
          </p>
        ) : failure ? (
          <p className="field-error" role="alert" data-testid="restore-channels-result">
            {failure}
          </p>
        ) : action.result ? (
          <p className="field-help" role="status" data-testid="restore-channels-result">
            {restoreSummary(action.result)}
          </p>
        ) : null}
      </div>
      {confirming && file && (
        <ConfirmDialog title="Restore the channels in this file?" confirmLabel="Restore channels" onConfirm={() => void confirm()} onCancel={() => setConfirming(false)}>
          <p>
            <span className="mono">{file.name}</span> ({bytes(file.size)}).
          </p>
          <p>{RESTORE_CONFIRM}</p>
        </ConfirmDialog>
      )}
    </div>
  )
}
