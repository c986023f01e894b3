import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import { MAX_PROFILE_SERVICES, type Profile } from '../../../../shared/contract/index.js'
import { formatSats } from '../../human.js'
import { MAX_NAME_CHARS, type ProfileDraft, type ProfileProblems, type ServiceDraft, draftChanged, draftOf, emptyService, parseProfileDraft } from '../../profile-text.js'
import { useApp } from '../app-context.js'
import { FormField } from '../FormField.js'
import { useKeyedAction } from '../use-action.js'
import { useDraft } from '../use-draft.js'

const NO_PROBLEMS: ProfileProblems = { services: {} }

/** The name and services peers see in their directory; saved by the node, announced at once. */
export function ProfileForm({ saved }: { saved: Profile }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [draft, setDraft] = useDraft(saved, draftOf, draftChanged)
  const [problems, setProblems] = useState<ProfileProblems>(NO_PROBLEMS)
  const update = useCallback((idempotencyKey: string, p: Profile) => connection.api.updateProfile({ ...p, idempotencyKey }), [connection])
  const action = useKeyedAction(update)
  const changed = draftChanged(draft, saved)

  const edit = (next: ProfileDraft): void => {
    setDraft(next)
    setProblems(NO_PROBLEMS)
    action.reset()
  }
  const editService = (i: number, patch: Partial<ServiceDraft>): void => edit({ ...draft, services: draft.services.map((s, j) => (j === i ? { ...s, ...patch } : s)) })

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (action.pending) return
    const parsed = parseProfileDraft(draft)
    setProblems(parsed.problems)
    if (!parsed.profile) return
    if (await action.run(parsed.profile)) setDraft(draftOf(parsed.profile))
  }

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid="profile-form">
      <h3 id={`${id}-title`} className="section-title">
        How peers see you
      </h3>
      <p className="field-help form-intro">Your node announces this, signed, to every peer it meets. Leave the name empty to be shown by your peer ID only.</p>
      <FormField id={`${id}-name`} label="Name" problem={problems.name} help={`Up to ${MAX_NAME_CHARS} characters.`} messageTestId="profile-name-message">
        {(control) => <input {...control} value={draft.name} placeholder="Alice’s node" maxLength={MAX_NAME_CHARS * 2} autoComplete="off" disabled={action.pending} data-testid="profile-name" onChange={(e) => edit({ ...draft, name: e.target.value })} />}
      </FormField>

      <fieldset className="services" disabled={action.pending}>
        <legend>Services you offer</legend>
        {draft.services.length === 0 ? (
          <p className="field-help">None. Add one to tell peers what you sell and for how much.</p>
        ) : (
          <ol className="service-list" data-testid="profile-services">
            {draft.services.map((s, i) => {
              const p = problems.services[i] ?? {}
              const label = s.name.trim() || `service ${i + 1}`
              return (
                <li key={i} className="service-row" data-testid="profile-service">
                  <div>
                    <FormField id={`${id}-s${i}-name`} label="Service" problem={p.name} help="" messageTestId="service-name-message">
                      {(control) => <input {...control} value={s.name} placeholder="Translation" autoComplete="off" data-testid="service-name" onChange={(e) => editService(i, { name: e.target.value })} />}
                    </FormField>
                  </div>
                  <div>
                    <FormField id={`${id}-s${i}-price`} label="Price (sats)" problem={p.price} help="" messageTestId="service-price-message">
                      {(control) => <input {...control} value={s.price} inputMode="numeric" placeholder="1000" autoComplete="off" data-testid="service-price" onChange={(e) => editService(i, { price: e.target.value })} />}
                    </FormField>
                  </div>
                  <div>
                    <FormField id={`${id}-s${i}-desc`} label="Description (optional)" problem={p.description} help="" messageTestId="service-description-message">
                      {(control) => <input {...control} value={s.description} autoComplete="off" data-testid="service-description" onChange={(e) => editService(i, { description: e.target.value })} />}
                    </FormField>
                  </div>
                  <button type="button" className="secondary" aria-label={`Remove ${label}`} data-testid="service-remove" onClick={() => edit({ ...draft, services: draft.services.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                </li>
              )
            })}
          </ol>
        )}
        <button type="button" className="secondary" disabled={draft.services.length >= MAX_PROFILE_SERVICES} data-testid="service-add" onClick={() => edit({ ...draft, services: [...draft.services, emptyService()] })}>
          Add a service
        </button>
      </fieldset>

      <div className="form-actions">
        <button type="submit" className="primary" disabled={action.pending || !changed} data-testid="profile-save">
          {action.pending ? <span className="spinner" aria-hidden="true" /> : null}
          {action.pending ? 'Saving…' : 'Save and announce'}
        </button>
        <p className={action.error || problems.form ? 'field-error' : 'field-help'} role={action.error || problems.form ? 'alert' : 'status'} data-testid="profile-message">
          {problems.form ?? action.error ?? (action.result ? savedText(action.result) : changed ? 'Not saved yet.' : '')}
        </p>
      </div>
    </form>
  )
}

function savedText(p: Profile): string {
  const services = p.services.length === 0 ? 'no services' : p.services.map((s) => `${s.name} (${formatSats(s.priceSats)})`).join(', ')
  return `Saved. Peers now see ${p.name ? `“${p.name}”` : 'your peer ID'} with ${services}.`
}
