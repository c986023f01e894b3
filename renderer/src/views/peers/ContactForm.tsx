import { type FormEvent, type ReactElement, useCallback, useId, useState } from 'react'
import { CONTACT_NAME_MAX } from '../../../../shared/contract/index.js'
import { contactNameInputProblem } from '../../contact-text.js'
import { useApp } from '../app-context.js'
import { FormField } from '../FormField.js'
import { useAction, useKeyedAction } from '../use-action.js'

/**
 * Name a peer locally, inline in its row. The peer's announced name is offered as the
 * placeholder (and one click fills it in); the name stays on this computer.
 */
export function ContactForm({ peerId, current, announced, onDone }: { peerId: string; current: string | undefined; announced: string | undefined; onDone: () => void }): ReactElement {
  const { connection } = useApp()
  const id = useId()
  const [name, setName] = useState(current ?? '')
  const [problem, setProblem] = useState<string | null>(null)
  const save = useCallback((idempotencyKey: string, value: string) => connection.api.setContact({ peerId, name: value, idempotencyKey }), [connection, peerId])
  const remove = useCallback(() => connection.api.removeContact({ peerId }), [connection, peerId])
  const saving = useKeyedAction(save)
  const removing = useAction(remove)
  const pending = saving.pending || removing.pending

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (pending) return
    const why = contactNameInputProblem(name)
    setProblem(why)
    if (why) return
    if (await saving.run(name.normalize('NFC').trim())) onDone()
  }

  const message = problem ?? saving.error ?? removing.error
  return (
    <form className="contact-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Your name for this peer" data-testid="contact-form">
      <FormField
        id={`${id}-name`}
        label="Your name for this peer"
        problem={message}
        help={
          <>
            Only you see this name; it is kept on this computer.
            {announced && announced !== name.trim() ? (
              <>
                {' '}
                The peer calls itself “{announced}”.{' '}
                <button type="button" className="link-button" disabled={pending} onClick={() => setName(announced)}>
                  Use that
                </button>
              </>
            ) : null}
          </>
        }
        messageTestId="contact-message"
      >
        {(control) => (
          <div className="input-row">
            <input
              {...control}
              value={name}
              maxLength={CONTACT_NAME_MAX * 2}
              placeholder={announced ? `e.g. ${announced}` : 'e.g. Bob’s shop'}
              autoComplete="off"
              disabled={pending}
              data-testid="contact-name"
              onChange={(e) => {
                setName(e.target.value)
                setProblem(null)
                saving.reset()
              }}
              onKeyDown={(e) => {
                if (e.key === 'Escape') onDone()
              }}
            />
            <button type="submit" className="primary" disabled={pending} data-testid="contact-save">
              {saving.pending ? <span className="spinner small" aria-hidden="true" /> : null}
              Save
            </button>
            <button type="button" className="secondary" disabled={pending} onClick={onDone}>
              Cancel
            </button>
          </div>
        )}
      </FormField>
      {current !== undefined && (
        <button
          type="button"
          className="link-button danger"
          disabled={pending}
          data-testid="contact-remove"
          onClick={() =>
            void removing.run().then((ok) => {
              if (ok) onDone()
            })
          }
        >
          Remove your name for this peer
        </button>
      )}
    </form>
  )
}
