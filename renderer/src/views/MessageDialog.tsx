import { type FormEvent, type ReactElement, useCallback, useEffect, useId, useRef, useState } from 'react'
import { MESSAGE_TEXT_MAX, type Peer } from '../../../shared/contract/index.js'
import { shortPeerId } from '../human.js'
import { useApp } from './app-context.js'
import { useKeyedAction } from './use-action.js'

/** A modal composer: Escape closes it, focus stays inside, and a send in flight cannot be sent twice. */
export function MessageDialog({ peer, onClose }: { peer: Peer; onClose: () => void }): ReactElement {
  const { connection } = useApp()
  const ref = useRef<HTMLDialogElement>(null)
  const id = useId()
  const [text, setText] = useState('')
  const send = useCallback((idempotencyKey: string, body: string) => connection.api.sendMessage({ peerId: peer.peerId, text: body, idempotencyKey }), [connection, peer.peerId])
  const action = useKeyedAction(send)

  useEffect(() => {
    const dialog = ref.current
    dialog?.showModal()
    return () => dialog?.close()
  }, [])

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    if (text.trim() === '' || action.pending) return
    if (await action.run(text)) setText('')
  }

  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} onClose={onClose} onCancel={() => onClose()}>
      <form onSubmit={(e) => void submit(e)}>
        <h3 id={`${id}-title`}>Message {peer.name ?? shortPeerId(peer.peerId)}</h3>
        <label htmlFor={`${id}-text`}>Message</label>
        <textarea id={`${id}-text`} rows={4} maxLength={MESSAGE_TEXT_MAX} value={text} disabled={action.pending} onChange={(e) => setText(e.target.value)} autoFocus />
        <p className={action.error ? 'field-error' : 'field-help'} role={action.error ? 'alert' : 'status'}>
          {action.error ?? (action.result ? 'Delivered: the peer has stored your message.' : 'Delivered only when the peer confirms it stored the message.')}
        </p>
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={action.pending || text.trim() === ''}>
            {action.pending ? 'Sending…' : 'Send'}
          </button>
        </div>
      </form>
    </dialog>
  )
}
