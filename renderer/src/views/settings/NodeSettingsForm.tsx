import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import type { Settings, SettingsUpdate } from '../../../../shared/contract/index.js'
import { limitLabel } from '../../human.js'
import { EXAMPLE_ADDRESS } from '../../peer-address.js'
import { LIMIT_NAMES, LOG_LEVELS, LOG_LEVEL_TEXT, type SettingsDraft, type SettingsProblems, draftChanged, draftOfSettings, fixedReason, limitUnit, parseSettingsDraft, waitingForRestart } from '../../settings-text.js'
import { useApp } from '../app-context.js'
import { ConfirmDialog } from '../ConfirmDialog.js'
import { FormField } from '../FormField.js'
import { useAction, useKeyedAction } from '../use-action.js'
import { useDraft } from '../use-draft.js'

const NO_PROBLEMS: SettingsProblems = { limits: {} }

/** Log level (applies at once), relays and limits (from the next start), saved to the config file. */
export function NodeSettingsForm({ saved }: { saved: Settings }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [draft, setDraft] = useDraft(saved, draftOfSettings, draftChanged)
  const [problems, setProblems] = useState<SettingsProblems>(NO_PROBLEMS)
  const update = useCallback((idempotencyKey: string, u: SettingsUpdate) => connection.api.updateSettings({ ...u, idempotencyKey }), [connection])
  const action = useKeyedAction(update)
  const restartNode = useCallback(() => connection.api.restartNode(), [connection])
  const restart = useAction(restartNode)
  const [confirming, setConfirming] = useState(false)
  const changed = draftChanged(draft, saved)
  const waiting = waitingForRestart(saved)

  const edit = (next: SettingsDraft): void => {
    setDraft(next)
    setProblems(NO_PROBLEMS)
    action.reset()
  }

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending) return
    const parsed = parseSettingsDraft(draft, saved)
    setProblems(parsed.problems)
    if (!parsed.update) return
    await action.run(parsed.update)
  }

  const logFixed = fixedReason(saved, 'logLevel')
  const relaysFixed = fixedReason(saved, 'p2p.relays')
  const outcome = problems.relays || Object.keys(problems.limits).length > 0 ? 'Some settings need fixing; see above.' : action.error
  return (
    <form className="card settings-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="node-settings-form">
      <h3 id={`${id}-title`} className="section-title">
        Node settings
      </h3>
      <p className="field-help form-intro">
        Saved to <span className="mono">{saved.editable.configFile}</span>.
      </p>
      {waiting.length > 0 && (
        <div className="notice">
          <p role="status" data-testid="settings-restart">
            Saved changes to {listText(waiting)} take effect when the node next starts.
          </p>
          <button type="button" className="secondary" disabled={restart.pending} data-testid="settings-restart-now" onClick={() => setConfirming(true)}>
            {restart.pending ? <span className="spinner" aria-hidden="true" /> : null}
            {restart.pending ? 'Restarting…' : 'Restart now'}
          </button>
        </div>
      )}
      {(restart.error || (restart.result && waiting.length === 0)) && (
        <p className={restart.error ? 'field-error' : 'field-help'} role={restart.error ? 'alert' : 'status'} data-testid="settings-restart-message">
          {restart.error ?? 'Restarted: the node runs with the saved settings.'}
        </p>
      )}
      {confirming && (
        <ConfirmDialog
          title="Restart the node now?"
          confirmLabel="Restart"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false)
            void restart.run()
          }}
        >
          <p>The node goes offline for a few seconds and comes back with the saved relays and limits. Channels and the wallet are kept on disk; a payment or message sent in those seconds may fail and can be sent again.</p>
        </ConfirmDialog>
      )}

      <FormField id={`${id}-log`} label="Log level" help={logFixed ?? 'Applies at once.'}>
        {({ id: controlId, 'aria-describedby': describedBy }) => (
          <select id={controlId} value={draft.logLevel} disabled={action.pending || !!logFixed} aria-describedby={describedBy} data-testid="settings-log-level" onChange={(e) => edit({ ...draft, logLevel: e.target.value as SettingsDraft['logLevel'] })}>
            {LOG_LEVELS.map((level) => (
              <option key={level} value={level}>
                {LOG_LEVEL_TEXT[level]}
              </option>
            ))}
          </select>
        )}
      </FormField>

      <FormField
        id={`${id}-relays`}
        label="Relays"
        problem={problems.relays}
        help={relaysFixed ?? 'One address per line, each ending in /p2p/ and the relay’s peer ID. A relay lets peers behind NAT reach you. Used from the next start.'}
        messageTestId="settings-relays-message"
      >
        {(control) => (
          <textarea
            {...control}
            className="mono-input"
            rows={3}
            value={draft.relays}
            placeholder={EXAMPLE_ADDRESS}
            spellCheck={false}
            autoComplete="off"
            disabled={action.pending || !!relaysFixed}
            data-testid="settings-relays"
            onChange={(e) => edit({ ...draft, relays: e.target.value })}
          />
        )}
      </FormField>

      <fieldset className="limits" disabled={action.pending}>
        <legend>Limits (used from the next start)</legend>
        <div className="limits-grid">
          {LIMIT_NAMES.map((name) => {
            const unit = limitUnit(name)
            const problem = problems.limits[name]
            return (
              <div key={name}>
                <FormField id={`${id}-${name}`} label={`${limitLabel(name)}${unit ? ` (${unit})` : ''}`} problem={problem} messageTestId={`settings-limit-${name}-message`}>
                  {(control) => <input {...control} value={draft.limits[name]} inputMode="numeric" autoComplete="off" data-testid={`settings-limit-${name}`} onChange={(e) => edit({ ...draft, limits: { ...draft.limits, [name]: e.target.value } })} />}
                </FormField>
              </div>
            )
          })}
        </div>
      </fieldset>

      <div className="form-actions">
        <button type="submit" className="primary" disabled={action.pending || !changed} data-testid="settings-save">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Saving…' : 'Save settings'}
        </button>
        <button type="button" className="secondary" disabled={action.pending || !changed} data-testid="settings-undo" onClick={() => edit(draftOfSettings(saved))}>
          Undo changes
        </button>
        <p className={outcome ? 'field-error' : 'field-help'} role={outcome ? 'alert' : 'status'} data-testid="settings-message">
          {outcome ?? (action.result ? savedText(action.result) : changed ? 'Not saved yet.' : '')}
        </p>
      </div>
    </form>
  )
}

function savedText(s: Settings): string {
  const waiting = waitingForRestart(s)
  return waiting.length > 0 ? `Saved. The log level is ${s.logLevel}; the rest applies from the next start.` : `Saved. The log level is ${s.logLevel}.`
}

function listText(items: string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}
