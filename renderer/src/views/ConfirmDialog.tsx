import { type ReactElement, type ReactNode, useEffect, useId, useRef } from 'react'

/** A modal yes/no: Escape or Cancel says no; focus starts on Cancel so Enter never confirms by accident. */
export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onCancel }: { title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void }): ReactElement {
  const ref = useRef<HTMLDialogElement>(null)
  const cancel = useRef<HTMLButtonElement>(null)
  const id = useId()
  useEffect(() => {
    const dialog = ref.current
    dialog?.showModal()
    cancel.current?.focus()
    return () => dialog?.close()
  }, [])
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`} onCancel={() => onCancel()} data-testid="confirm-dialog">
      <h3 id={`${id}-title`}>{title}</h3>
      <div id={`${id}-body`} className="dialog-body">
        {children}
      </div>
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onCancel} ref={cancel}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onConfirm} data-testid="confirm-yes">
          {confirmLabel}
        </button>
      </div>
    </dialog>
  )
}
